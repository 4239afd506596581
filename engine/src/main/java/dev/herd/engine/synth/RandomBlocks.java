package dev.herd.engine.synth;

import dev.herd.engine.tensor.GgmlType;

import java.util.SplittableRandom;

/**
 * Random weights written directly in a ggml block format: random quants with block scales chosen
 * so that values spread like a freshly initialised layer (standard deviation about {@code sigma},
 * centred on 0). Any bytes in these layouts are valid weights; this only keeps them sensible.
 */
final class RandomBlocks {
    private RandomBlocks() {}

    /** Fills {@code out} (a whole number of blocks of {@code type}) with random weights. */
    static void fill(GgmlType type, byte[] out, int length, float sigma, SplittableRandom r) {
        int bb = type.blockBytes();
        if (length % bb != 0) throw new IllegalArgumentException(length + " bytes is not a whole number of " + type + " blocks");
        for (int off = 0; off < length; off += bb) block(type, out, off, sigma, r);
    }

    private static void block(GgmlType type, byte[] b, int o, float sigma, SplittableRandom r) {
        switch (type) {
            case F32 -> putF32(b, o, uniform(r, sigma));
            case F16 -> putF16(b, o, uniform(r, sigma));
            case BF16 -> {
                int bits = Float.floatToRawIntBits(uniform(r, sigma));
                putShort(b, o, (short) (bits >>> 16));
            }
            case Q8_0 -> { // d, 32 × int8
                putF16(b, o, sigma / 73.6f);
                for (int i = 0; i < 32; i++) b[o + 2 + i] = (byte) (r.nextInt(255) - 127);
            }
            case Q4_0 -> { // d, 16 bytes of nibbles (q - 8)
                putF16(b, o, sigma / 4.6f);
                randomBytes(r, b, o + 2, 16);
            }
            case Q4_1 -> { // d, m, 16 bytes
                float d = sigma / 4.6f;
                putF16(b, o, d);
                putF16(b, o + 2, -8 * d);
                randomBytes(r, b, o + 4, 16);
            }
            case Q5_0 -> { // d, qh[4], qs[16] (q - 16)
                putF16(b, o, sigma / 9.2f);
                randomBytes(r, b, o + 2, 20);
            }
            case Q5_1 -> { // d, m, qh[4], qs[16]
                float d = sigma / 9.2f;
                putF16(b, o, d);
                putF16(b, o + 2, -16 * d);
                randomBytes(r, b, o + 4, 20);
            }
            case Q2_K -> { // scales[16] (scale | min << 4), qs[64], d, dmin
                for (int i = 0; i < 16; i++) {
                    int sc = 8 + r.nextInt(8);
                    b[o + i] = (byte) (sc | sc << 4);
                }
                randomBytes(r, b, o + 16, 64);
                float d = sigma / 12.9f;
                putF16(b, o + 80, d);
                putF16(b, o + 82, 1.5f * d);
            }
            case Q3_K -> { // hmask[32], qs[64], scales[12] (6-bit, minus 32), d
                randomBytes(r, b, o, 108);
                putF16(b, o + 108, sigma / 41f);
            }
            case Q4_K -> { // d, dmin, scales[12] (6-bit scale and min pairs), qs[128]
                float d = sigma / 250f;
                putF16(b, o, d);
                putF16(b, o + 2, 7.5f * d);
                randomBytes(r, b, o + 4, 140);
            }
            case Q5_K -> { // d, dmin, scales[12], qh[32], qs[128]
                float d = sigma / 500f;
                putF16(b, o, d);
                putF16(b, o + 2, 15.5f * d);
                randomBytes(r, b, o + 4, 172);
            }
            case Q6_K -> { // ql[128], qh[64], scales[16] (int8), d
                randomBytes(r, b, o, 192);
                for (int i = 0; i < 16; i++) b[o + 192 + i] = (byte) (r.nextInt(65) - 32);
                putF16(b, o + 208, sigma / 340f);
            }
            default -> throw new IllegalArgumentException("cannot synthesise " + type + " weights");
        }
    }

    private static float uniform(SplittableRandom r, float sigma) {
        return (float) ((r.nextDouble() * 2 - 1) * Math.sqrt(3) * sigma);
    }

    private static void randomBytes(SplittableRandom r, byte[] b, int o, int n) {
        for (int i = 0; i < n; i += 8) {
            long v = r.nextLong();
            for (int j = 0; j < 8 && i + j < n; j++) b[o + i + j] = (byte) (v >>> (8 * j));
        }
    }

    static void putF32(byte[] b, int o, float v) {
        int bits = Float.floatToRawIntBits(v);
        for (int i = 0; i < 4; i++) b[o + i] = (byte) (bits >>> (8 * i));
    }

    private static void putF16(byte[] b, int o, float v) {
        putShort(b, o, Float.floatToFloat16(v));
    }

    private static void putShort(byte[] b, int o, short v) {
        b[o] = (byte) v;
        b[o + 1] = (byte) (v >>> 8);
    }
}

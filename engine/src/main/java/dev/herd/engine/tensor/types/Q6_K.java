package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.herd.engine.tensor.types.SimdWide.INTS;
import static dev.herd.engine.tensor.types.SimdWide.LANES;
import static dev.herd.engine.tensor.types.SimdWide.NATIVE;
import static dev.herd.engine.tensor.types.SimdWide.scaledDot;
import static dev.herd.engine.tensor.types.SimdWide.scalesPer16;
import static dev.herd.engine.tensor.types.SimdWide.unsignedBytes;

/**
 * Q6_K: super-blocks of 256 values, 210 bytes: 128 bytes of low nibbles, 64 bytes of 2-bit high
 * parts, 16 int8 scales (one per 16 values), half {@code d}. In each half n of 128 values, byte l
 * of {@code ql[64n..]} holds values l (low nibble) and l+64 (high), byte l+32 values l+32 and
 * l+96; byte l of {@code qh[32n..]} holds the high parts of values l, l+32, l+64, l+96 in bit pairs
 * 0, 2, 4, 6; value = d·scale·(q − 32). Dot product as {@code ggml_vec_dot_q6_K_q8_K}.
 */
public final class Q6_K extends SuperBlockKernel {

    static final int BLOCK_BYTES = 210;

    public Q6_K() { super(GgmlType.Q6_K, Mins.NONE); }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        checkBlocks(type(), count);
        int[] scales = new int[16];
        for (int b = 0; b < count / 256; b++) {
            long blk = byteOffset + (long) b * BLOCK_BYTES;
            float d = f16(src, blk + 208);
            scales(src, blk, scales);
            for (int n = 0; n < 2; n++) {
                long ql = blk + 64 * n, qh = blk + 128 + 32 * n;
                int o = dstOffset + b * 256 + 128 * n;
                for (int l = 0; l < 32; l++) {
                    int is = 8 * n + l / 16;
                    int lo = u8(src, ql + l), hi = u8(src, ql + l + 32), h = u8(src, qh + l);
                    int q1 = ((lo & 0xF) | ((h & 3) << 4)) - 32;
                    int q2 = ((hi & 0xF) | (((h >>> 2) & 3) << 4)) - 32;
                    int q3 = ((lo >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
                    int q4 = ((hi >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
                    dst[o + l] = d * scales[is] * q1;
                    dst[o + l + 32] = d * scales[is + 2] * q2;
                    dst[o + l + 64] = d * scales[is + 4] * q3;
                    dst[o + l + 96] = d * scales[is + 6] * q4;
                }
            }
        }
    }

    /** The sixteen int8 scales, from two 8-byte loads. */
    private static void scales(MemorySegment w, long blk, int[] out) {
        long lo = w.get(LE_LONG, blk + 192), hi = w.get(LE_LONG, blk + 200);
        for (int i = 0; i < 8; i++) {
            out[i] = (byte) (lo >>> (8 * i));
            out[8 + i] = (byte) (hi >>> (8 * i));
        }
    }

    private static final short LOW = 0x0F, HIGH = 0x30, OFFSET = 32;

    /**
     * Quants (−32..31) of values 128n+32c+k.. from the low-nibble bytes {@code lo} (ql[64n+k..])
     * and {@code hi} (ql[64n+32+k..]) and the high-part bytes {@code h} (qh[32n+k..]).
     */
    private static ShortVector quant(ShortVector lo, ShortVector hi, ShortVector h, int c) {
        return nibbles((c & 1) == 0 ? lo : hi, c).or(highPart(h, c)).sub(OFFSET);
    }

    /** Low nibbles for c = 0, 1; high nibbles for c = 2, 3. */
    private static ShortVector nibbles(ShortVector v, int c) {
        return v.lanewise(VectorOperators.LSHR, 4 * (c >> 1)).and(LOW);
    }

    /** Bit pair c of the high-part bytes, moved to bits 4-5. */
    private static ShortVector highPart(ShortVector h, int c) {
        return h.lanewise(VectorOperators.LSHR, 2 * c).lanewise(VectorOperators.LSHL, 4).and(HIGH);
    }

    @Override
    float dot1(MemorySegment w, long row, EncodedActivations x, int[] scales) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales();
        float sum = 0f;
        for (int b = 0; b < blocks; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            scales(w, blk, scales);
            int dot = 0;
            for (int n = 0; n < 2; n++) dot += half(w, blk, n, q, b * 512L, scales);
            sum = Math.fma(s.getAtIndex(ValueLayout.JAVA_FLOAT, b) * f16(w, blk + 208), dot, sum);
        }
        return sum;
    }

    /** Σ scale·(q − 32)·x over values 128n..128n+127. */
    private static int half(MemorySegment w, long blk, int n, MemorySegment q, long a, int[] scales) {
        IntVector acc = IntVector.zero(INTS);
        for (int k = 0; k < 32; k += LANES) {
            ShortVector lo = unsignedBytes(w, blk + 64 * n + k), hi = unsignedBytes(w, blk + 64 * n + 32 + k);
            ShortVector h = unsignedBytes(w, blk + 128 + 32 * n + k);
            for (int c = 0; c < 4; c++) {
                int v = 128 * n + 32 * c + k;
                acc = scaledDot(acc, quant(lo, hi, h, c), q, a + v * 2, scalesPer16(scales, v));
            }
        }
        return SimdWide.sum(acc);
    }

    @Override
    void decodeRow(MemorySegment w, long row, int n, MemorySegment dst) {
        int[] scales = SCALES.get();
        for (int b = 0; b < n / 256; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            scales(w, blk, scales);
            storeScales(dst, n, b, scales, f16(w, blk + 208), 0f);
            for (int half = 0; half < 2; half++) {
                for (int k = 0; k < 32; k += LANES) {
                    ShortVector lo = unsignedBytes(w, blk + 64 * half + k), hi = unsignedBytes(w, blk + 64 * half + 32 + k);
                    ShortVector h = unsignedBytes(w, blk + 128 + 32 * half + k);
                    for (int c = 0; c < 4; c++) {
                        quant(lo, hi, h, c).intoMemorySegment(dst, (b * 256L + 128 * half + 32 * c + k) * 2, NATIVE);
                    }
                }
            }
        }
    }
}

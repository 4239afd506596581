package dev.herd.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Encodes one activation vector into an {@link EncodedActivations} slot, as llama.cpp's CPU
 * backend quantises it on x86 (AVX2/AVX-512 builds):
 * <ul>
 * <li>F16: {@code vcvtps2ph}, round to nearest even; BF16: {@code ggml_compute_fp32_to_bf16};</li>
 * <li>Q8_0/Q8_1 ({@code quantize_row_q8_0/q8_1}, x86 variant): {@code d = amax / 127} stored as
 * half, quants {@code round_half_even(x * (127 / amax))} — the x86 code differs from ggml's
 * reference C, which multiplies by {@code 1 / d} and rounds half away from zero; Q8_1 adds
 * {@code half(d * sum(q))} with the unrounded {@code d};</li>
 * <li>Q8_K ({@code quantize_row_q8_K_ref}, which x86 uses too): {@code iscale = -127 / max}
 * where {@code max} is the signed value of largest magnitude, quants
 * {@code min(127, nearest_int(iscale * x))} (ties to even), float scale {@code 1 / iscale}.</li>
 * </ul>
 * Quants are clamped to [-127, 127]: ggml's own maths already keeps them there except for blocks
 * whose largest magnitude is below ~4e-37, where the scale is zero (or too small to matter) anyway.
 */
final class ActivationEncoders {
    private ActivationEncoders() {}

    static void encode(ActivationEncoding encoding, float[] src, int offset, int n, EncodedActivations dst, int t) {
        switch (encoding) {
            case F32 -> MemorySegment.copy(src, offset, dst.values(), ValueLayout.JAVA_FLOAT, (long) t * n * 4, n);
            case F16 -> {
                MemorySegment v = dst.values();
                long base = (long) t * n;
                for (int i = 0; i < n; i++) v.setAtIndex(ValueLayout.JAVA_FLOAT, base + i, Float16s.roundToHalf(src[offset + i]));
            }
            case BF16 -> {
                MemorySegment v = dst.values();
                long base = (long) t * n;
                for (int i = 0; i < n; i++) v.setAtIndex(ValueLayout.JAVA_FLOAT, base + i, Float16s.roundToBf16(src[offset + i]));
            }
            case Q8_0 -> quantize32(src, offset, n, dst, t, false);
            case Q8_1 -> quantize32(src, offset, n, dst, t, true);
            case Q8_K -> quantizeK(src, offset, n, dst, t);
        }
    }

    private static void quantize32(float[] src, int offset, int n, EncodedActivations dst, int t, boolean withSums) {
        MemorySegment quants = dst.values(), scales = dst.scales(), sums = dst.sums();
        int blocks = n / 32;
        short[] q = new short[32];
        for (int b = 0; b < blocks; b++) {
            int x0 = offset + b * 32;
            float amax = 0f;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(src[x0 + j]));
            float d = amax / 127f;
            float id = amax != 0f ? 127f / amax : 0f;
            int sum = 0;
            for (int j = 0; j < 32; j++) {
                int v = clamp127(Math.rint(src[x0 + j] * id));
                q[j] = (short) v;
                sum += v;
            }
            MemorySegment.copy(q, 0, quants, ValueLayout.JAVA_SHORT, ((long) t * n + b * 32L) * 2, 32);
            long block = (long) t * blocks + b;
            scales.setAtIndex(ValueLayout.JAVA_FLOAT, block, Float16s.roundToHalf(d));
            if (withSums) sums.setAtIndex(ValueLayout.JAVA_FLOAT, block, Float16s.roundToHalf(d * sum));
        }
    }

    private static void quantizeK(float[] src, int offset, int n, EncodedActivations dst, int t) {
        MemorySegment quants = dst.values(), bytes = dst.bytes(), scales = dst.scales(), sums = dst.sums();
        int blocks = n / 256;
        short[] q = new short[256];
        byte[] q8 = new byte[256];
        for (int b = 0; b < blocks; b++) {
            int x0 = offset + b * 256;
            float max = 0f, amax = 0f;
            for (int j = 0; j < 256; j++) {
                float ax = Math.abs(src[x0 + j]);
                if (ax > amax) {
                    amax = ax;
                    max = src[x0 + j];
                }
            }
            float d;
            if (amax == 0f) {
                java.util.Arrays.fill(q, (short) 0);
                d = 0f;
            } else {
                float iscale = -127f / max;
                for (int j = 0; j < 256; j++) q[j] = (short) clamp127(Math.rint(iscale * src[x0 + j]));
                d = 1f / iscale;
            }
            MemorySegment.copy(q, 0, quants, ValueLayout.JAVA_SHORT, ((long) t * n + b * 256L) * 2, 256);
            for (int j = 0; j < 256; j++) q8[j] = (byte) q[j];
            MemorySegment.copy(q8, 0, bytes, ValueLayout.JAVA_BYTE, (long) t * n + b * 256L, 256);
            scales.setAtIndex(ValueLayout.JAVA_FLOAT, (long) t * blocks + b, d);
            for (int g = 0; g < 16; g++) {
                int s = 0;
                for (int j = 0; j < 16; j++) s += q[g * 16 + j];
                sums.setAtIndex(ValueLayout.JAVA_SHORT, (long) t * (n / 16) + b * 16L + g, (short) s);
            }
        }
    }

    /** NaN (0 × inf in a degenerate block) becomes 0, everything else is clamped to the int8 range ggml's dots rely on. */
    private static int clamp127(double rounded) {
        if (Double.isNaN(rounded)) return 0;
        return (int) Math.max(-127, Math.min(127, rounded));
    }
}

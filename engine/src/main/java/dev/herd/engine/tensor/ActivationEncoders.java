package dev.herd.engine.tensor;

import dev.herd.engine.tensor.types.NativeKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

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
 *
 * <p>The Q8 encodings run natively ({@code herdencode.c}, same bits) where the native kernels are
 * available and selected: a one-sequence decode step encodes ~45 vectors between its parallel
 * loops, one thread working while the others wait. Vectors holding a NaN or an infinity are left
 * to the Java code.
 */
final class ActivationEncoders {
    private ActivationEncoders() {}

    /** The native encoders, or null when the native kernels are unavailable or {@code herd.kernels=java}. */
    private static final NativeEncoders NATIVE = Kernels.mode().equals("java") ? null
            : NativeKernels.isa().map(NativeEncoders::new).orElse(null);

    static void encode(ActivationEncoding encoding, float[] src, int offset, int n, EncodedActivations dst, int t) {
        if (NATIVE != null && NATIVE.encode(encoding, src, offset, n, dst, t)) return;
        encodeJava(encoding, src, offset, n, dst, t);
    }

    /** {@code herd_encode_q8_k} and {@code herd_encode_q8_0} of one instruction set. */
    static final class NativeEncoders {
        /** (src, srcOffset, n, t, q16, q8, scales, sums) → 0, or 1 when a value is not finite; vector t at its place in each buffer. */
        private static final FunctionDescriptor Q8_K = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS);
        /** (src, srcOffset, n, t, q16, scales, sums or NULL) → 0, or 1 when a value is not finite. */
        private static final FunctionDescriptor Q8_0 = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS);

        private final MethodHandle q8k, q80;

        NativeEncoders(String isa) {
            q8k = NativeKernels.function("herd_encode_q8_k", isa, Q8_K);
            q80 = NativeKernels.function("herd_encode_q8_0", isa, Q8_0);
        }

        /**
         * Encodes vector {@code t} natively; false (nothing written that counts) for the F encodings and
         * non-finite vectors. The buffers go whole with {@code t} (slices would be allocated per call).
         */
        boolean encode(ActivationEncoding encoding, float[] src, int offset, int n, EncodedActivations dst, int t) {
            if ((long) (t + 1) * n * 2 > dst.values().byteSize()) throw new IndexOutOfBoundsException("slot " + t + " is beyond the buffer");
            try {
                int status = switch (encoding) {
                    case Q8_K -> (int) q8k.invokeExact(HeapSegments.of(src), offset, n, t, dst.values(), dst.bytes(), dst.scales(), dst.sums());
                    case Q8_0 -> (int) q80.invokeExact(HeapSegments.of(src), offset, n, t, dst.values(), dst.scales(), MemorySegment.NULL);
                    case Q8_1 -> (int) q80.invokeExact(HeapSegments.of(src), offset, n, t, dst.values(), dst.scales(), dst.sums());
                    case F32, F16, BF16 -> 1;
                };
                return status == 0;
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable e) {
                throw new IllegalStateException("native activation encoding failed", e);
            }
        }
    }

    /** The Java encoders, for every encoding and every value. */
    static void encodeJava(ActivationEncoding encoding, float[] src, int offset, int n, EncodedActivations dst, int t) {
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

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** 1.5 * 2^23: {@code (v + ROUNDER) - ROUNDER} rounds |v| < 2^22 to an integer, ties to even, as {@code Math.rint}. */
    private static final float ROUNDER = 12582912f;

    /**
     * {@code rint(x * scale)} clamped to the int8 range ggml's dots rely on, for {@code count}
     * values from {@code src[from]} into {@code out}: values are first limited to ±128 (so the
     * rounding trick is exact and anything beyond still ends at ±127), and NaN (0 × inf in a
     * degenerate block) becomes 0.
     */
    private static void roundClamp127(float[] src, int from, float scale, int count, float[] out) {
        for (int j = 0; j < count; j += F.length()) {
            FloatVector v = FloatVector.fromArray(F, src, from + j).mul(scale);
            v = v.max(-128f).min(128f).add(ROUNDER).sub(ROUNDER).max(-127f).min(127f);
            v.blend(0f, v.test(VectorOperators.IS_NAN)).intoArray(out, j);
        }
    }

    /** The largest |x| of {@code count} values, NaN if one is NaN (as {@code Math.max}). */
    private static float maxAbs(float[] src, int from, int count) {
        FloatVector m = FloatVector.zero(F);
        for (int j = 0; j < count; j += F.length()) m = m.max(FloatVector.fromArray(F, src, from + j).abs());
        return m.reduceLanes(VectorOperators.MAX);
    }

    /** The largest |x| of {@code count} values, NaNs skipped (0 if all are NaN). */
    private static float maxAbsIgnoringNaN(float[] src, int from, int count) {
        FloatVector m = FloatVector.zero(F);
        for (int j = 0; j < count; j += F.length()) {
            FloatVector a = FloatVector.fromArray(F, src, from + j).abs();
            m = m.max(a.blend(0f, a.test(VectorOperators.IS_NAN)));
        }
        return m.reduceLanes(VectorOperators.MAX);
    }

    private static void quantize32(float[] src, int offset, int n, EncodedActivations dst, int t, boolean withSums) {
        MemorySegment quants = dst.values(), scales = dst.scales(), sums = dst.sums();
        int blocks = n / 32;
        float[] r = new float[32];
        short[] q = new short[32];
        for (int b = 0; b < blocks; b++) {
            int x0 = offset + b * 32;
            float amax = maxAbs(src, x0, 32);
            float d = amax / 127f;
            float id = amax != 0f ? 127f / amax : 0f;
            roundClamp127(src, x0, id, 32, r);
            int sum = 0;
            for (int j = 0; j < 32; j++) {
                q[j] = (short) r[j];
                sum += q[j];
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
        float[] r = new float[256];
        short[] q = new short[256];
        byte[] q8 = new byte[256];
        for (int b = 0; b < blocks; b++) {
            int x0 = offset + b * 256;
            // the first value of largest magnitude, sign kept; NaNs never win (they fail every comparison)
            float amax = maxAbsIgnoringNaN(src, x0, 256), max = 0f;
            for (int j = 0; j < 256; j++) {
                if (Math.abs(src[x0 + j]) == amax) {
                    max = src[x0 + j];
                    break;
                }
            }
            float d;
            if (amax == 0f) {
                java.util.Arrays.fill(r, 0f);
                d = 0f;
            } else {
                float iscale = -127f / max;
                roundClamp127(src, x0, iscale, 256, r);
                d = 1f / iscale;
            }
            for (int j = 0; j < 256; j++) {
                q[j] = (short) r[j];
                q8[j] = (byte) q[j];
            }
            MemorySegment.copy(q, 0, quants, ValueLayout.JAVA_SHORT, ((long) t * n + b * 256L) * 2, 256);
            MemorySegment.copy(q8, 0, bytes, ValueLayout.JAVA_BYTE, (long) t * n + b * 256L, 256);
            scales.setAtIndex(ValueLayout.JAVA_FLOAT, (long) t * blocks + b, d);
            for (int g = 0; g < 16; g++) {
                int sum = 0;
                for (int j = 0; j < 16; j++) sum += q[g * 16 + j];
                sums.setAtIndex(ValueLayout.JAVA_SHORT, (long) t * (n / 16) + b * 16L + g, (short) sum);
            }
        }
    }
}

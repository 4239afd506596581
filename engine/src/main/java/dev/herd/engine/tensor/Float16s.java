package dev.herd.engine.tensor;

/**
 * The 16-bit float conversions ggml uses. IEEE half goes through {@link Float#floatToFloat16} and
 * {@link Float#float16ToFloat} (round to nearest even, like F16C's {@code vcvtps2ph} with mode 0);
 * bfloat16 follows ggml's {@code ggml_compute_fp32_to_bf16}: round to nearest even on the bit
 * pattern, NaNs made quiet, subnormals kept.
 */
public final class Float16s {
    private Float16s() {}

    /** {@code f} rounded to IEEE half precision, as a float. */
    public static float roundToHalf(float f) {
        return Float.float16ToFloat(Float.floatToFloat16(f));
    }

    /** The bfloat16 bit pattern nearest to {@code f} (ties to even). */
    public static short toBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 64);
        }
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /** {@code f} rounded to bfloat16 precision, as a float. */
    public static float roundToBf16(float f) {
        return bf16ToFloat(toBf16(f));
    }
}

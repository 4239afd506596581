package dev.herd.engine.tensor;

/**
 * How an activation vector is encoded before its dot products with a weight type — llama.cpp's
 * {@code vec_dot_type}. Rounding activations the way llama.cpp does (F16, BF16, 8-bit blocks) is
 * what keeps herd's logits close to llama.cpp's on quantised files, and it is also what makes
 * integer dot products possible.
 */
public enum ActivationEncoding {
    /** Plain floats (F32 weights). */
    F32(1),
    /** Rounded to IEEE half (F16 weights). */
    F16(1),
    /** Rounded to bfloat16, nearest-even (BF16 weights). */
    BF16(1),
    /** Blocks of 32: int8 values and a half-precision scale (Q4_0, Q5_0, Q8_0 weights). */
    Q8_0(32),
    /** Blocks of 32: int8 values, a half-precision scale and the block sum times the scale (Q4_1, Q5_1). */
    Q8_1(32),
    /** Blocks of 256: int8 values, a float scale and sums of each 16 values (the K-quants). */
    Q8_K(256);

    private final int blockSize;

    ActivationEncoding(int blockSize) { this.blockSize = blockSize; }

    /** Vectors must be a multiple of this long. */
    public int blockSize() { return blockSize; }
}

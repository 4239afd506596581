package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.herd.engine.tensor.types.Simd256.NATIVE;
import static dev.herd.engine.tensor.types.Simd256.pairSum;
import static dev.herd.engine.tensor.types.Simd256.quants;
import static dev.herd.engine.tensor.types.Simd256.signedBytes;

/**
 * Q8_0: blocks of 32 values, 34 bytes: half scale {@code d}, then 32 int8 quants; value = q·d.
 * Dot product against Q8_0 activations: per block the exact integer dot of its 32 quant pairs,
 * converted to float once and accumulated with {@code fma(dot, d_w·d_x, acc[b mod 8])}; the blocks
 * are padded to a multiple of eight with {@code fma(0, 0, acc)}; at the end {@link Simd256#sum}'s
 * butterfly of the eight accumulators. One float operation per block (where the other 32-value
 * types take one per eight-lane group of products) is what lets the native kernel run the integer
 * dots of eight blocks side by side with VNNI and convert them in one instruction.
 *
 * <p>Decoded row: the n quants as int16, then the n/32 block scales as floats.
 */
public final class Q8_0 extends RowKernel {

    static final int BLOCK_BYTES = 34;

    public Q8_0() { super(GgmlType.Q8_0, ActivationEncoding.Q8_0); }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        checkBlocks(type(), count);
        for (int b = 0; b < count / 32; b++) {
            long blk = byteOffset + (long) b * BLOCK_BYTES;
            float d = f16(src, blk);
            for (int j = 0; j < 32; j++) dst[dstOffset + b * 32 + j] = src.get(ValueLayout.JAVA_BYTE, blk + 2 + j) * d;
        }
    }

    @Override
    float dot1(MemorySegment w, long row, EncodedActivations x, int[] scratch) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales();
        float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f, a4 = 0f, a5 = 0f, a6 = 0f, a7 = 0f;
        for (int g = 0; g < blocks; g += 8) {
            for (int k = 0; k < 8; k++) {
                int b = g + k;
                float dot = 0f, prod = 0f;
                if (b < blocks) {
                    long blk = row + (long) b * BLOCK_BYTES, a = b * 64L;
                    // |weight| ≤ 128 and |activation| ≤ 127: two products per 16-bit pair at most
                    IntVector p = pairSum(signedBytes(w, blk + 2).mul(quants(q, a))).add(pairSum(signedBytes(w, blk + 18).mul(quants(q, a + 32))));
                    dot = p.reduceLanes(VectorOperators.ADD);
                    prod = f16(w, blk) * s.getAtIndex(ValueLayout.JAVA_FLOAT, b);
                }
                switch (k) {
                    case 0 -> a0 = Math.fma(dot, prod, a0);
                    case 1 -> a1 = Math.fma(dot, prod, a1);
                    case 2 -> a2 = Math.fma(dot, prod, a2);
                    case 3 -> a3 = Math.fma(dot, prod, a3);
                    case 4 -> a4 = Math.fma(dot, prod, a4);
                    case 5 -> a5 = Math.fma(dot, prod, a5);
                    case 6 -> a6 = Math.fma(dot, prod, a6);
                    default -> a7 = Math.fma(dot, prod, a7);
                }
            }
        }
        return sum8(a0, a1, a2, a3, a4, a5, a6, a7);
    }

    /** {@link Simd256#sum}'s butterfly over eight accumulators. */
    private static float sum8(float a0, float a1, float a2, float a3, float a4, float a5, float a6, float a7) {
        return ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7));
    }

    @Override
    long decodedBytes(int n) {
        return n * 2L + (n / 32) * 4L;
    }

    @Override
    void decodeRow(MemorySegment w, long row, int n, MemorySegment dst) {
        for (int b = 0; b < n / 32; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            signedBytes(w, blk + 2).intoMemorySegment(dst, b * 64L, NATIVE);
            signedBytes(w, blk + 18).intoMemorySegment(dst, b * 64L + 32, NATIVE);
            dst.set(ValueLayout.JAVA_FLOAT, n * 2L + b * 4L, f16(w, blk));
        }
    }

    @Override
    float dotDecoded(MemorySegment decoded, EncodedActivations x, int t) {
        int n = x.length(), blocks = n / 32;
        MemorySegment q = x.values(), s = x.scales();
        long a = (long) t * n * 2, sa = (long) t * blocks, scales = n * 2L;
        float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f, a4 = 0f, a5 = 0f, a6 = 0f, a7 = 0f;
        for (int g = 0; g < blocks; g += 8) {
            for (int k = 0; k < 8; k++) {
                int b = g + k;
                float dot = 0f, prod = 0f;
                if (b < blocks) {
                    IntVector p = pairSum(quants(decoded, b * 64L).mul(quants(q, a + b * 64L)))
                            .add(pairSum(quants(decoded, b * 64L + 32).mul(quants(q, a + b * 64L + 32))));
                    dot = p.reduceLanes(VectorOperators.ADD);
                    prod = decoded.get(ValueLayout.JAVA_FLOAT, scales + b * 4L) * s.getAtIndex(ValueLayout.JAVA_FLOAT, sa + b);
                }
                switch (k) {
                    case 0 -> a0 = Math.fma(dot, prod, a0);
                    case 1 -> a1 = Math.fma(dot, prod, a1);
                    case 2 -> a2 = Math.fma(dot, prod, a2);
                    case 3 -> a3 = Math.fma(dot, prod, a3);
                    case 4 -> a4 = Math.fma(dot, prod, a4);
                    case 5 -> a5 = Math.fma(dot, prod, a5);
                    case 6 -> a6 = Math.fma(dot, prod, a6);
                    default -> a7 = Math.fma(dot, prod, a7);
                }
            }
        }
        return sum8(a0, a1, a2, a3, a4, a5, a6, a7);
    }
}

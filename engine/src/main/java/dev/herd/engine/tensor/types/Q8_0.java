package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import dev.herd.engine.tensor.WeightKernel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.herd.engine.tensor.types.Simd256.FLOATS;
import static dev.herd.engine.tensor.types.Simd256.INTS;
import static dev.herd.engine.tensor.types.Simd256.NATIVE;
import static dev.herd.engine.tensor.types.Simd256.SWAP1;
import static dev.herd.engine.tensor.types.Simd256.SWAP2;
import static dev.herd.engine.tensor.types.Simd256.SWAP4;
import static dev.herd.engine.tensor.types.Simd256.pairSum;
import static dev.herd.engine.tensor.types.Simd256.quants;
import static dev.herd.engine.tensor.types.Simd256.signedBytes;
import static dev.herd.engine.tensor.types.Simd256.sumInts;

/**
 * Q8_0: blocks of 32 values, 34 bytes: half scale {@code d}, then 32 int8 quants; value = q·d.
 * Dot product against Q8_0 activations: per block the exact integer dot of its 32 quant pairs,
 * converted to float once and accumulated with {@code fma(dot, d_w·d_x, acc[b mod 8])}; the blocks
 * are padded to a multiple of eight with {@code fma(0, 0, acc)}; at the end {@link Simd256#sum}'s
 * butterfly of the eight accumulators. One float operation per block (where the other 32-value
 * types take one per eight-lane group of products) is what lets the native kernel run the integer
 * dots of eight blocks side by side with VNNI and convert them in one instruction.
 *
 * <p>Each block's integer lanes are summed exactly, eight blocks' dots converted and accumulated in
 * one step. A batch first decodes each row's quants to int16, then multiplies every vector with it.
 * (This Java path is the fallback where the native kernels are unavailable; summing each block
 * makes it about half as fast as the per-lane formulation it replaced, see docs/kernels.md.)
 */
public final class Q8_0 implements WeightKernel {

    static final int BLOCK_BYTES = 34;
    @Override
    public GgmlType type() { return GgmlType.Q8_0; }

    @Override
    public ActivationEncoding activationEncoding() { return ActivationEncoding.Q8_0; }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        RowKernel.checkBlocks(type(), count);
        for (int b = 0; b < count / 32; b++) {
            long blk = byteOffset + (long) b * BLOCK_BYTES;
            float d = RowKernel.f16(src, blk);
            for (int j = 0; j < 32; j++) dst[dstOffset + b * 32 + j] = src.get(ValueLayout.JAVA_BYTE, blk + 2 + j) * d;
        }
    }

    @Override
    public void matmul(MemorySegment w, long rowBytes, int rowStart, int rowEnd, EncodedActivations x, float[] out, int outStride) {
        if (!RowKernel.checkMatmul(this, w, rowBytes, rowStart, rowEnd, x, out, outStride)) return;
        int n = x.length(), blocks = n / 32, count = x.count();
        int[] dots = new int[8];
        float[] prods = new float[8];
        if (count == 1) {
            for (int r = rowStart; r < rowEnd; r++) out[r] = dot1(w, r * rowBytes, x, dots, prods);
            return;
        }
        MemorySegment row = RowKernel.buffer(0, n * 2L + blocks * 4L);
        for (int r = rowStart; r < rowEnd; r++) {
            long src = r * rowBytes;
            for (int b = 0; b < blocks; b++) {
                long blk = src + (long) b * BLOCK_BYTES;
                signedBytes(w, blk + 2).intoMemorySegment(row, b * 64L, NATIVE);
                signedBytes(w, blk + 18).intoMemorySegment(row, b * 64L + 32, NATIVE);
                row.set(ValueLayout.JAVA_FLOAT, n * 2L + b * 4L, RowKernel.f16(w, blk));
            }
            for (int t = 0; t < count; t++) out[t * outStride + r] = dotDecoded(row, x, t, dots, prods);
        }
    }

    // |weight| ≤ 128 and |activation| ≤ 127: two products per 16-bit pair at most

    private static float dot1(MemorySegment w, long row, EncodedActivations x, int[] dots, float[] prods) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales();
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int g = 0; g < blocks; g += 8) {
            for (int k = 0; k < 8; k++) {
                int b = g + k;
                if (b < blocks) {
                    long blk = row + (long) b * BLOCK_BYTES, a = b * 64L;
                    dots[k] = sumInts(pairSum(signedBytes(w, blk + 2).mul(quants(q, a))).add(pairSum(signedBytes(w, blk + 18).mul(quants(q, a + 32)))));
                    prods[k] = RowKernel.f16(w, blk) * s.getAtIndex(ValueLayout.JAVA_FLOAT, b);
                } else {
                    dots[k] = 0;
                    prods[k] = 0f;
                }
            }
            acc = ((FloatVector) IntVector.fromArray(INTS, dots, 0).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(FLOATS, prods, 0), acc);
        }
        return sum(acc);
    }

    private static float dotDecoded(MemorySegment row, EncodedActivations x, int t, int[] dots, float[] prods) {
        int n = x.length(), blocks = n / 32;
        MemorySegment q = x.values(), s = x.scales();
        long base = (long) t * n * 2, sa = (long) t * blocks, scales = n * 2L;
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int g = 0; g < blocks; g += 8) {
            for (int k = 0; k < 8; k++) {
                int b = g + k;
                if (b < blocks) {
                    long d = b * 64L, a = base + b * 64L;
                    dots[k] = sumInts(pairSum(quants(row, d).mul(quants(q, a))).add(pairSum(quants(row, d + 32).mul(quants(q, a + 32)))));
                    prods[k] = row.get(ValueLayout.JAVA_FLOAT, scales + b * 4L) * s.getAtIndex(ValueLayout.JAVA_FLOAT, sa + b);
                } else {
                    dots[k] = 0;
                    prods[k] = 0f;
                }
            }
            acc = ((FloatVector) IntVector.fromArray(INTS, dots, 0).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(FLOATS, prods, 0), acc);
        }
        return sum(acc);
    }

    /** Simd256.sum written out: called from two places it is not inlined, and its vector gets boxed. */
    private static float sum(FloatVector acc) {
        FloatVector h = acc.add(acc.rearrange(SWAP4));
        h = h.add(h.rearrange(SWAP2));
        return h.add(h.rearrange(SWAP1)).lane(0);
    }
}

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
 * <p>A single vector sums each block's integer lanes exactly and converts and accumulates eight
 * blocks' dots in one step; a batch lays the operands out per group of eight blocks, as the native
 * kernel does, so that a group's eight dots come out as one vector. (This Java path is the fallback
 * where the native kernels are unavailable; it is slower than the per-lane formulation it replaced,
 * see docs/kernels.md.)
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
        if (x.count() > 1) {
            multiplyGrouped(w, rowBytes, rowStart, rowEnd, x, out, outStride);
            return;
        }
        int[] dots = new int[8];
        float[] prods = new float[8];
        for (int r = rowStart; r < rowEnd; r++) out[r] = dot1(w, r * rowBytes, x, dots, prods);
    }

    private static float dot1(MemorySegment w, long row, EncodedActivations x, int[] dots, float[] prods) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales();
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int g = 0; g < blocks; g += 8) {
            for (int k = 0; k < 8; k++) {
                int b = g + k;
                if (b < blocks) {
                    long blk = row + (long) b * BLOCK_BYTES, a = b * 64L;
                    // |weight| ≤ 128 and |activation| ≤ 127: two products per 16-bit pair at most
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

    /** A group of eight blocks laid out for batches: 16 slices of 16 int16, lanes 2k and 2k+1 of slice s holding values 2s, 2s+1 of block k. */
    private static final long GROUP_BYTES = 16 * 32;

    /**
     * A batch, the way the native kernel does it: the activations and then each row laid out per group of
     * eight blocks, so that the integer dots of a group's eight blocks accumulate in the eight int lanes of
     * one vector and need no per-block sums.
     */
    private static void multiplyGrouped(MemorySegment w, long rowBytes, int rowStart, int rowEnd, EncodedActivations x, float[] out, int outStride) {
        int n = x.length(), blocks = n / 32, groups = (blocks + 7) / 8, count = x.count();
        long quantBytes = groups * GROUP_BYTES, scaleBytes = groups * 8L * Float.BYTES;
        MemorySegment xq = RowKernel.buffer(0, count * quantBytes), xd = RowKernel.buffer(1, count * scaleBytes);
        MemorySegment row = RowKernel.buffer(2, quantBytes + scaleBytes);
        MemorySegment q = x.values(), s = x.scales();
        for (int t = 0; t < count; t++) {
            for (int b = 0; b < groups * 8; b++) {
                long at = t * quantBytes + (b / 8) * GROUP_BYTES + (b % 8) * 4L;
                for (int slice = 0; slice < 16; slice++) {
                    // two int16 quants, moved as one int
                    int pair = b < blocks ? q.get(ValueLayout.JAVA_INT_UNALIGNED, ((long) t * n + b * 32L + 2 * slice) * 2) : 0;
                    xq.set(ValueLayout.JAVA_INT, at + slice * 32L, pair);
                }
                xd.set(ValueLayout.JAVA_FLOAT, t * scaleBytes + b * 4L, b < blocks ? s.getAtIndex(ValueLayout.JAVA_FLOAT, (long) t * blocks + b) : 0f);
            }
        }
        for (int r = rowStart; r < rowEnd; r++) {
            long src = r * rowBytes;
            for (int b = 0; b < groups * 8; b++) {
                long at = (b / 8) * GROUP_BYTES + (b % 8) * 4L, blk = src + (long) b * BLOCK_BYTES;
                for (int slice = 0; slice < 16; slice++) {
                    int pair = 0;
                    if (b < blocks) {
                        byte lo = w.get(ValueLayout.JAVA_BYTE, blk + 2 + 2 * slice), hi = w.get(ValueLayout.JAVA_BYTE, blk + 3 + 2 * slice);
                        pair = (lo & 0xFFFF) | (hi << 16); // two int16 in memory order (little-endian)
                    }
                    row.set(ValueLayout.JAVA_INT, at + slice * 32L, pair);
                }
                row.set(ValueLayout.JAVA_FLOAT, quantBytes + b * 4L, b < blocks ? RowKernel.f16(w, blk) : 0f);
            }
            for (int t = 0; t < count; t++) out[t * outStride + r] = dotGrouped(row, quantBytes, xq, t * quantBytes, xd, t * scaleBytes, groups);
        }
    }

    /** The dot of a row and a vector laid out per group (the row's block scales after its quants). */
    private static float dotGrouped(MemorySegment row, long rowScales, MemorySegment xq, long xo, MemorySegment xd, long xdo, int groups) {
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int g = 0; g < groups; g++) {
            long wo = g * GROUP_BYTES, ao = xo + g * GROUP_BYTES;
            IntVector dots = IntVector.zero(INTS);
            for (int slice = 0; slice < 16; slice++) dots = dots.add(pairSum(quants(row, wo + slice * 32L).mul(quants(xq, ao + slice * 32L))));
            FloatVector prods = FloatVector.fromMemorySegment(FLOATS, row, rowScales + g * 32L, NATIVE)
                    .mul(FloatVector.fromMemorySegment(FLOATS, xd, xdo + g * 32L, NATIVE));
            acc = ((FloatVector) dots.convert(VectorOperators.I2F, 0)).fma(prods, acc);
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

package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.herd.engine.tensor.types.Simd256.FLOATS;
import static dev.herd.engine.tensor.types.Simd256.pairSum;
import static dev.herd.engine.tensor.types.Simd256.quants;
import static dev.herd.engine.tensor.types.Simd256.signedBytes;

/**
 * Q8_0: blocks of 32 values, 34 bytes: half scale {@code d}, then 32 int8 quants; value = q·d.
 * Dot product against Q8_0 activations as {@code ggml_vec_dot_q8_0_q8_0}: per block the integer
 * products, each lane scaled by {@code d_w·d_x} and accumulated in float lanes.
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
    float dot1(MemorySegment w, long row, EncodedActivations x, int t) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales();
        long a = (long) t * x.length() * 2;
        long sa = (long) t * blocks;
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int b = 0; b < blocks; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            float dw = f16(w, blk);
            ShortVector w0 = signedBytes(w, blk + 2), w1 = signedBytes(w, blk + 18);
            acc = step(acc, w0, w1, q, a + b * 64L, dw * s.getAtIndex(ValueLayout.JAVA_FLOAT, sa + b));
        }
        return Simd256.sum(acc);
    }

    @Override
    void dot4(MemorySegment w, long row, EncodedActivations x, int t, float[] out, int outIndex, int outStride) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales();
        long vectorBytes = (long) x.length() * 2;
        long a0 = t * vectorBytes, a1 = a0 + vectorBytes, a2 = a1 + vectorBytes, a3 = a2 + vectorBytes;
        long s0 = (long) t * blocks, s1 = s0 + blocks, s2 = s1 + blocks, s3 = s2 + blocks;
        FloatVector acc0 = FloatVector.zero(FLOATS), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int b = 0; b < blocks; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            float dw = f16(w, blk);
            ShortVector w0 = signedBytes(w, blk + 2), w1 = signedBytes(w, blk + 18);
            long o = b * 64L;
            acc0 = step(acc0, w0, w1, q, a0 + o, dw * s.getAtIndex(ValueLayout.JAVA_FLOAT, s0 + b));
            acc1 = step(acc1, w0, w1, q, a1 + o, dw * s.getAtIndex(ValueLayout.JAVA_FLOAT, s1 + b));
            acc2 = step(acc2, w0, w1, q, a2 + o, dw * s.getAtIndex(ValueLayout.JAVA_FLOAT, s2 + b));
            acc3 = step(acc3, w0, w1, q, a3 + o, dw * s.getAtIndex(ValueLayout.JAVA_FLOAT, s3 + b));
        }
        out[outIndex] = Simd256.sum(acc0);
        out[outIndex + outStride] = Simd256.sum(acc1);
        out[outIndex + 2 * outStride] = Simd256.sum(acc2);
        out[outIndex + 3 * outStride] = Simd256.sum(acc3);
    }

    /** One block: values 0-15 and 16-31 times the activation quants at byte {@code a}, scaled by {@code d}. */
    private static FloatVector step(FloatVector acc, ShortVector w0, ShortVector w1, MemorySegment q, long a, float d) {
        IntVector p = pairSum(w0.mul(quants(q, a))).add(pairSum(w1.mul(quants(q, a + 32))));
        return ((FloatVector) p.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(FLOATS, d), acc);
    }
}

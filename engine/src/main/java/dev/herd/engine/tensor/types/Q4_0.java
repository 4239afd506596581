package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.herd.engine.tensor.types.Simd256.FLOATS;
import static dev.herd.engine.tensor.types.Simd256.smallBlock;
import static dev.herd.engine.tensor.types.Simd256.unsignedBytes;

/**
 * Q4_0: blocks of 32 values, 18 bytes: half scale {@code d}, then 16 bytes whose low nibbles are
 * values 0-15 and high nibbles values 16-31; value = (nibble − 8)·d. Dot product against Q8_0
 * activations as {@code ggml_vec_dot_q4_0_q8_0}.
 */
public final class Q4_0 extends RowKernel {

    static final int BLOCK_BYTES = 18;

    public Q4_0() { super(GgmlType.Q4_0, ActivationEncoding.Q8_0); }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        checkBlocks(type(), count);
        for (int b = 0; b < count / 32; b++) {
            long blk = byteOffset + (long) b * BLOCK_BYTES;
            float d = f16(src, blk);
            int o = dstOffset + b * 32;
            for (int j = 0; j < 16; j++) {
                int qs = u8(src, blk + 2 + j);
                dst[o + j] = ((qs & 0x0F) - 8) * d;
                dst[o + j + 16] = ((qs >>> 4) - 8) * d;
            }
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
            ShortVector v = unsignedBytes(w, blk + 2);
            ShortVector lo = v.and((short) 0x0F).sub((short) 8), hi = v.lanewise(VectorOperators.LSHR, 4).sub((short) 8);
            acc = smallBlock(acc, lo, hi, q, a + b * 64L, dw * s.getAtIndex(ValueLayout.JAVA_FLOAT, sa + b));
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
            ShortVector v = unsignedBytes(w, blk + 2);
            ShortVector lo = v.and((short) 0x0F).sub((short) 8), hi = v.lanewise(VectorOperators.LSHR, 4).sub((short) 8);
            long o = b * 64L;
            acc0 = smallBlock(acc0, lo, hi, q, a0 + o, dw * s.getAtIndex(ValueLayout.JAVA_FLOAT, s0 + b));
            acc1 = smallBlock(acc1, lo, hi, q, a1 + o, dw * s.getAtIndex(ValueLayout.JAVA_FLOAT, s1 + b));
            acc2 = smallBlock(acc2, lo, hi, q, a2 + o, dw * s.getAtIndex(ValueLayout.JAVA_FLOAT, s2 + b));
            acc3 = smallBlock(acc3, lo, hi, q, a3 + o, dw * s.getAtIndex(ValueLayout.JAVA_FLOAT, s3 + b));
        }
        out[outIndex] = Simd256.sum(acc0);
        out[outIndex + outStride] = Simd256.sum(acc1);
        out[outIndex + 2 * outStride] = Simd256.sum(acc2);
        out[outIndex + 3 * outStride] = Simd256.sum(acc3);
    }
}

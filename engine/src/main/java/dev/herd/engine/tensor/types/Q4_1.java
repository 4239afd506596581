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
 * Q4_1: blocks of 32 values, 20 bytes: half scale {@code d}, half minimum {@code m}, then 16 bytes
 * whose low nibbles are values 0-15 and high nibbles values 16-31; value = nibble·d + m. Dot
 * product against Q8_1 activations as {@code ggml_vec_dot_q4_1_q8_1}: the integer part scaled by
 * {@code d_w·d_x} per block, plus {@code m·s_x} with {@code s_x} the activation block's scaled sum.
 */
public final class Q4_1 extends RowKernel {

    static final int BLOCK_BYTES = 20;

    public Q4_1() { super(GgmlType.Q4_1, ActivationEncoding.Q8_1); }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        checkBlocks(type(), count);
        for (int b = 0; b < count / 32; b++) {
            long blk = byteOffset + (long) b * BLOCK_BYTES;
            float d = f16(src, blk), m = f16(src, blk + 2);
            int o = dstOffset + b * 32;
            for (int j = 0; j < 16; j++) {
                int qs = u8(src, blk + 4 + j);
                dst[o + j] = (qs & 0x0F) * d + m;
                dst[o + j + 16] = (qs >>> 4) * d + m;
            }
        }
    }

    @Override
    float dot1(MemorySegment w, long row, EncodedActivations x, int t) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales();
        long a = (long) t * x.length() * 2;
        long sa = (long) t * blocks;
        MemorySegment sums = x.sums();
        FloatVector acc = FloatVector.zero(FLOATS);
        float mins = 0f;
        for (int b = 0; b < blocks; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            float dw = f16(w, blk), mw = f16(w, blk + 2);
            ShortVector v = unsignedBytes(w, blk + 4);
            ShortVector lo = v.and((short) 0x0F), hi = v.lanewise(VectorOperators.LSHR, 4);
            acc = smallBlock(acc, lo, hi, q, a + b * 64L, dw * s.getAtIndex(ValueLayout.JAVA_FLOAT, sa + b));
            mins += mw * sums.getAtIndex(ValueLayout.JAVA_FLOAT, sa + b);
        }
        return Simd256.sum(acc) + mins;
    }

    @Override
    void dot4(MemorySegment w, long row, EncodedActivations x, int t, float[] out, int outIndex, int outStride) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales();
        long vectorBytes = (long) x.length() * 2;
        long a0 = t * vectorBytes, a1 = a0 + vectorBytes, a2 = a1 + vectorBytes, a3 = a2 + vectorBytes;
        long s0 = (long) t * blocks, s1 = s0 + blocks, s2 = s1 + blocks, s3 = s2 + blocks;
        MemorySegment sums = x.sums();
        FloatVector acc0 = FloatVector.zero(FLOATS), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        float mins0 = 0f, mins1 = 0f, mins2 = 0f, mins3 = 0f;
        for (int b = 0; b < blocks; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            float dw = f16(w, blk), mw = f16(w, blk + 2);
            ShortVector v = unsignedBytes(w, blk + 4);
            ShortVector lo = v.and((short) 0x0F), hi = v.lanewise(VectorOperators.LSHR, 4);
            long o = b * 64L;
            acc0 = smallBlock(acc0, lo, hi, q, a0 + o, dw * s.getAtIndex(ValueLayout.JAVA_FLOAT, s0 + b));
            acc1 = smallBlock(acc1, lo, hi, q, a1 + o, dw * s.getAtIndex(ValueLayout.JAVA_FLOAT, s1 + b));
            acc2 = smallBlock(acc2, lo, hi, q, a2 + o, dw * s.getAtIndex(ValueLayout.JAVA_FLOAT, s2 + b));
            acc3 = smallBlock(acc3, lo, hi, q, a3 + o, dw * s.getAtIndex(ValueLayout.JAVA_FLOAT, s3 + b));
            mins0 += mw * sums.getAtIndex(ValueLayout.JAVA_FLOAT, s0 + b);
            mins1 += mw * sums.getAtIndex(ValueLayout.JAVA_FLOAT, s1 + b);
            mins2 += mw * sums.getAtIndex(ValueLayout.JAVA_FLOAT, s2 + b);
            mins3 += mw * sums.getAtIndex(ValueLayout.JAVA_FLOAT, s3 + b);
        }
        out[outIndex] = Simd256.sum(acc0) + mins0;
        out[outIndex + outStride] = Simd256.sum(acc1) + mins1;
        out[outIndex + 2 * outStride] = Simd256.sum(acc2) + mins2;
        out[outIndex + 3 * outStride] = Simd256.sum(acc3) + mins3;
    }
}

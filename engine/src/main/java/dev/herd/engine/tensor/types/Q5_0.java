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
import static dev.herd.engine.tensor.types.Simd256.fifthBits;
import static dev.herd.engine.tensor.types.Simd256.smallBlock;
import static dev.herd.engine.tensor.types.Simd256.unsignedBytes;

/**
 * Q5_0: blocks of 32 values, 22 bytes: half scale {@code d}, 32 high bits (bit j belongs to value
 * j), then 16 bytes whose low nibbles are values 0-15 and high nibbles values 16-31;
 * value = (nibble | high bit·16 − 16)·d. Dot product against Q8_0 activations as
 * {@code ggml_vec_dot_q5_0_q8_0}.
 */
public final class Q5_0 extends RowKernel {

    static final int BLOCK_BYTES = 22;

    public Q5_0() { super(GgmlType.Q5_0, ActivationEncoding.Q8_0); }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        checkBlocks(type(), count);
        for (int b = 0; b < count / 32; b++) {
            long blk = byteOffset + (long) b * BLOCK_BYTES;
            float d = f16(src, blk);
            int qh = src.get(LE_INT, blk + 2);
            int o = dstOffset + b * 32;
            for (int j = 0; j < 16; j++) {
                int qs = u8(src, blk + 6 + j);
                int x0 = ((qs & 0x0F) | (((qh >>> j) << 4) & 0x10)) - 16;
                int x1 = ((qs >>> 4) | ((qh >>> (j + 12)) & 0x10)) - 16;
                dst[o + j] = x0 * d;
                dst[o + j + 16] = x1 * d;
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
            int qh = w.get(LE_INT, blk + 2);
            ShortVector v = unsignedBytes(w, blk + 6);
            ShortVector lo = v.and((short) 0x0F).or(fifthBits(qh)).sub((short) 16);
            ShortVector hi = v.lanewise(VectorOperators.LSHR, 4).or(fifthBits(qh >>> 16)).sub((short) 16);
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
            int qh = w.get(LE_INT, blk + 2);
            ShortVector v = unsignedBytes(w, blk + 6);
            ShortVector lo = v.and((short) 0x0F).or(fifthBits(qh)).sub((short) 16);
            ShortVector hi = v.lanewise(VectorOperators.LSHR, 4).or(fifthBits(qh >>> 16)).sub((short) 16);
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

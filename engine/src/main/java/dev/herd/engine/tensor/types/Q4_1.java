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
import static dev.herd.engine.tensor.types.Simd256.NATIVE;
import static dev.herd.engine.tensor.types.Simd256.accumulate;
import static dev.herd.engine.tensor.types.Simd256.smallBlock;
import static dev.herd.engine.tensor.types.Simd256.unsignedBytes;

/**
 * Q4_1: blocks of 32 values, 20 bytes: half scale {@code d}, half minimum {@code m}, then 16 bytes
 * whose low nibbles are values 0-15 and high nibbles values 16-31; value = nibble·d + m. Dot
 * product against Q8_1 activations as {@code ggml_vec_dot_q4_1_q8_1}: the integer part scaled by
 * {@code d_w·d_x} per block, plus {@code m·s_x} with {@code s_x} the activation block's scaled sum.
 */
public final class Q4_1 extends BlockRowKernel {

    static final int BLOCK_BYTES = 20;

    public Q4_1() { super(GgmlType.Q4_1, ActivationEncoding.Q8_1, true); }

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

    private static ShortVector low(ShortVector v) { return v.and((short) 0x0F); }

    private static ShortVector high(ShortVector v) { return v.lanewise(VectorOperators.LSHR, 4); }

    @Override
    float dot1(MemorySegment w, long row, EncodedActivations x, int[] scratch) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales(), sums = x.sums();
        FloatVector acc = FloatVector.zero(FLOATS);
        float minSum = 0f;
        for (int b = 0; b < blocks; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            ShortVector v = unsignedBytes(w, blk + 4);
            acc = accumulate(acc, smallBlock(low(v), high(v), q, b * 64L), f16(w, blk) * s.getAtIndex(ValueLayout.JAVA_FLOAT, b));
            minSum += f16(w, blk + 2) * sums.getAtIndex(ValueLayout.JAVA_FLOAT, b);
        }
        return Simd256.sum(acc) + minSum;
    }

    @Override
    void decodeRow(MemorySegment w, long row, int n, MemorySegment dst) {
        for (int b = 0; b < n / 32; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            ShortVector v = unsignedBytes(w, blk + 4);
            low(v).intoMemorySegment(dst, b * 64L, NATIVE);
            high(v).intoMemorySegment(dst, b * 64L + 32, NATIVE);
            storeScales(dst, n, b, f16(w, blk), f16(w, blk + 2));
        }
    }
}

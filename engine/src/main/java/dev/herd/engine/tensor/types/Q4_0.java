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
 * Q4_0: blocks of 32 values, 18 bytes: half scale {@code d}, then 16 bytes whose low nibbles are
 * values 0-15 and high nibbles values 16-31; value = (nibble − 8)·d. Dot product against Q8_0
 * activations as {@code ggml_vec_dot_q4_0_q8_0}.
 */
public final class Q4_0 extends BlockRowKernel {

    static final int BLOCK_BYTES = 18;

    public Q4_0() { super(GgmlType.Q4_0, ActivationEncoding.Q8_0, false); }

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

    private static ShortVector low(ShortVector v) { return v.and((short) 0x0F).sub((short) 8); }

    private static ShortVector high(ShortVector v) { return v.lanewise(VectorOperators.LSHR, 4).sub((short) 8); }

    @Override
    float dot1(MemorySegment w, long row, EncodedActivations x, int[] scratch) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales();
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int b = 0; b < blocks; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            ShortVector v = unsignedBytes(w, blk + 2);
            acc = accumulate(acc, smallBlock(low(v), high(v), q, b * 64L), f16(w, blk) * s.getAtIndex(ValueLayout.JAVA_FLOAT, b));
        }
        return Simd256.sum(acc);
    }

    @Override
    void decodeRow(MemorySegment w, long row, int n, MemorySegment dst) {
        for (int b = 0; b < n / 32; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            ShortVector v = unsignedBytes(w, blk + 2);
            low(v).intoMemorySegment(dst, b * 64L, NATIVE);
            high(v).intoMemorySegment(dst, b * 64L + 32, NATIVE);
            storeScales(dst, n, b, f16(w, blk), 0f);
        }
    }
}

package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.herd.engine.tensor.types.Simd256.FLOATS;
import static dev.herd.engine.tensor.types.Simd256.NATIVE;
import static dev.herd.engine.tensor.types.Simd256.accumulate;
import static dev.herd.engine.tensor.types.Simd256.pairSum;
import static dev.herd.engine.tensor.types.Simd256.quants;
import static dev.herd.engine.tensor.types.Simd256.signedBytes;

/**
 * Q8_0: blocks of 32 values, 34 bytes: half scale {@code d}, then 32 int8 quants; value = q·d.
 * Dot product against Q8_0 activations as {@code ggml_vec_dot_q8_0_q8_0}.
 */
public final class Q8_0 extends BlockRowKernel {

    static final int BLOCK_BYTES = 34;

    public Q8_0() { super(GgmlType.Q8_0, ActivationEncoding.Q8_0, false); }

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
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int b = 0; b < blocks; b++) {
            long blk = row + (long) b * BLOCK_BYTES, a = b * 64L;
            // |weight| ≤ 128 and |activation| ≤ 127: two products per 16-bit pair at most
            IntVector p = pairSum(signedBytes(w, blk + 2).mul(quants(q, a))).add(pairSum(signedBytes(w, blk + 18).mul(quants(q, a + 32))));
            acc = accumulate(acc, p, f16(w, blk) * s.getAtIndex(ValueLayout.JAVA_FLOAT, b));
        }
        return Simd256.sum(acc);
    }

    @Override
    void decodeRow(MemorySegment w, long row, int n, MemorySegment dst) {
        for (int b = 0; b < n / 32; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            signedBytes(w, blk + 2).intoMemorySegment(dst, b * 64L, NATIVE);
            signedBytes(w, blk + 18).intoMemorySegment(dst, b * 64L + 32, NATIVE);
            storeScales(dst, n, b, f16(w, blk), 0f);
        }
    }
}

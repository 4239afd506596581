package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.herd.engine.tensor.types.SimdWide.INTS;
import static dev.herd.engine.tensor.types.SimdWide.LANES;
import static dev.herd.engine.tensor.types.SimdWide.scaledDot;
import static dev.herd.engine.tensor.types.SimdWide.scalesPer16;
import static dev.herd.engine.tensor.types.SimdWide.unsignedBytes;

/**
 * Q3_K: super-blocks of 256 values, 110 bytes: 32 bytes of high-bit masks, 64 bytes of 2-bit
 * quants, 12 bytes of 6-bit scales (one per 16 values, stored minus 32), half {@code d}. In each
 * half n of 128 values, bit pair j of byte l of {@code qs[32n..]} is the low part of value
 * 128n+32j+l, and bit 4n+j of {@code hmask[l]} its high bit; value = d·(scale − 32)·(low − 4 +
 * 4·high). Dot product against Q8_K activations as {@code ggml_vec_dot_q3_K_q8_K}.
 */
public final class Q3_K extends RowKernel {

    static final int BLOCK_BYTES = 110;

    public Q3_K() { super(GgmlType.Q3_K, ActivationEncoding.Q8_K); }

    /** The sixteen signed scales ({@code scale − 32}) of the super-block at {@code blk}. */
    private static void scales(MemorySegment m, long blk, int[] scales) {
        long s = blk + 96;
        for (int j = 0; j < 16; j++) {
            int low = j < 8 ? u8(m, s + j) & 0xF : u8(m, s + j - 8) >>> 4;
            int high = (u8(m, s + 8 + j % 4) >>> (2 * (j / 4))) & 3;
            scales[j] = (low | (high << 4)) - 32;
        }
    }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        checkBlocks(type(), count);
        int[] scales = new int[16];
        for (int b = 0; b < count / 256; b++) {
            long blk = byteOffset + (long) b * BLOCK_BYTES;
            float d = f16(src, blk + 108);
            scales(src, blk, scales);
            int o = dstOffset + b * 256;
            for (int n = 0; n < 2; n++) {
                for (int j = 0; j < 4; j++) {
                    for (int half = 0; half < 2; half++) {
                        float dl = d * scales[8 * n + 2 * j + half];
                        for (int l = 16 * half; l < 16 * half + 16; l++) {
                            int low = (u8(src, blk + 32 + 32 * n + l) >>> (2 * j)) & 3;
                            int high = (u8(src, blk + l) >>> (4 * n + j)) & 1;
                            dst[o + 128 * n + 32 * j + l] = dl * (low - (high != 0 ? 0 : 4));
                        }
                    }
                }
            }
        }
    }

    @Override
    float dot1(MemorySegment w, long row, EncodedActivations x, int t) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales();
        int[] scales = new int[16];
        long a = (long) t * x.length() * 2;
        float sum = 0f;
        for (int b = 0; b < blocks; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            scales(w, blk, scales);
            long ab = a + b * 512L;
            IntVector acc = IntVector.zero(INTS);
            for (int k = 0; k < 32; k += LANES) {
                ShortVector high = unsignedBytes(w, blk + k).lanewise(VectorOperators.LSHL, 2);
                for (int n = 0; n < 2; n++) {
                    ShortVector low = unsignedBytes(w, blk + 32 + 32 * n + k);
                    for (int j = 0; j < 4; j++) {
                        int v = 128 * n + 32 * j + k;
                        acc = scaledDot(acc, quant(low, high, n, j), q, ab + v * 2, scalesPer16(scales, v));
                    }
                }
            }
            sum = Math.fma(s.getAtIndex(ValueLayout.JAVA_FLOAT, (long) t * blocks + b) * f16(w, blk + 108), SimdWide.sum(acc), sum);
        }
        return sum;
    }

    @Override
    void dot4(MemorySegment w, long row, EncodedActivations x, int t, float[] out, int outIndex, int outStride) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales();
        int[] scales = new int[16];
        long vectorBytes = (long) x.length() * 2;
        long a0 = t * vectorBytes, a1 = a0 + vectorBytes, a2 = a1 + vectorBytes, a3 = a2 + vectorBytes;
        float sum0 = 0f, sum1 = 0f, sum2 = 0f, sum3 = 0f;
        for (int b = 0; b < blocks; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            scales(w, blk, scales);
            long o = b * 512L;
            IntVector acc0 = IntVector.zero(INTS), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int k = 0; k < 32; k += LANES) {
                ShortVector high = unsignedBytes(w, blk + k).lanewise(VectorOperators.LSHL, 2);
                for (int n = 0; n < 2; n++) {
                    ShortVector low = unsignedBytes(w, blk + 32 + 32 * n + k);
                    for (int j = 0; j < 4; j++) {
                        int v = 128 * n + 32 * j + k;
                        ShortVector wq = quant(low, high, n, j);
                        IntVector sc = scalesPer16(scales, v);
                        long ov = o + v * 2L;
                        acc0 = scaledDot(acc0, wq, q, a0 + ov, sc);
                        acc1 = scaledDot(acc1, wq, q, a1 + ov, sc);
                        acc2 = scaledDot(acc2, wq, q, a2 + ov, sc);
                        acc3 = scaledDot(acc3, wq, q, a3 + ov, sc);
                    }
                }
            }
            float d = f16(w, blk + 108);
            long bt = (long) t * blocks + b;
            sum0 = Math.fma(s.getAtIndex(ValueLayout.JAVA_FLOAT, bt) * d, SimdWide.sum(acc0), sum0);
            sum1 = Math.fma(s.getAtIndex(ValueLayout.JAVA_FLOAT, bt + blocks) * d, SimdWide.sum(acc1), sum1);
            sum2 = Math.fma(s.getAtIndex(ValueLayout.JAVA_FLOAT, bt + 2L * blocks) * d, SimdWide.sum(acc2), sum2);
            sum3 = Math.fma(s.getAtIndex(ValueLayout.JAVA_FLOAT, bt + 3L * blocks) * d, SimdWide.sum(acc3), sum3);
        }
        out[outIndex] = sum0;
        out[outIndex + outStride] = sum1;
        out[outIndex + 2 * outStride] = sum2;
        out[outIndex + 3 * outStride] = sum3;
    }

    /** Quants −4..3 of bit pair j, with high bit 4n+j taken from the masks pre-shifted left by 2. */
    private static ShortVector quant(ShortVector low, ShortVector high2, int n, int j) {
        return low.lanewise(VectorOperators.LSHR, 2 * j).and((short) 3)
                .or(high2.lanewise(VectorOperators.LSHR, 4 * n + j).and((short) 4)).sub((short) 4);
    }
}

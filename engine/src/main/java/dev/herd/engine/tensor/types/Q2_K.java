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
 * Q2_K: super-blocks of 256 values, 84 bytes: 16 bytes of 4-bit scale (low nibble) and min (high
 * nibble) per 16 values, 64 bytes of 2-bit quants, half {@code d}, half {@code dmin}. In each half
 * n of 128 values, bit pair j of byte l of {@code qs[32n..]} is value 128n+32j+l;
 * value = d·scale·q − dmin·min. Dot product against Q8_K activations as
 * {@code ggml_vec_dot_q2_K_q8_K}.
 */
public final class Q2_K extends RowKernel {

    static final int BLOCK_BYTES = 84;

    public Q2_K() { super(GgmlType.Q2_K, ActivationEncoding.Q8_K); }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        checkBlocks(type(), count);
        for (int b = 0; b < count / 256; b++) {
            long blk = byteOffset + (long) b * BLOCK_BYTES;
            float d = f16(src, blk + 80), min = f16(src, blk + 82);
            int o = dstOffset + b * 256;
            for (int n = 0; n < 2; n++) {
                for (int j = 0; j < 4; j++) {
                    for (int half = 0; half < 2; half++) {
                        int sc = u8(src, blk + 8 * n + 2 * j + half);
                        float dl = d * (sc & 0xF), ml = min * (sc >>> 4);
                        for (int l = 16 * half; l < 16 * half + 16; l++) {
                            dst[o + 128 * n + 32 * j + l] = dl * ((u8(src, blk + 16 + 32 * n + l) >>> (2 * j)) & 3) - ml;
                        }
                    }
                }
            }
        }
    }

    private static void scalesAndMins(MemorySegment w, long blk, int[] scales, int[] mins) {
        for (int i = 0; i < 16; i++) {
            int sc = u8(w, blk + i);
            scales[i] = sc & 0xF;
            mins[i] = sc >>> 4;
        }
    }

    @Override
    float dot1(MemorySegment w, long row, EncodedActivations x, int t) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales(), bsums = x.sums();
        int[] scales = new int[16], mins = new int[16];
        long a = (long) t * x.length() * 2;
        float sum = 0f, minSum = 0f;
        for (int b = 0; b < blocks; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            scalesAndMins(w, blk, scales, mins);
            long ab = a + b * 512L;
            IntVector acc = IntVector.zero(INTS);
            for (int n = 0; n < 2; n++) {
                for (int k = 0; k < 32; k += LANES) {
                    ShortVector bits = unsignedBytes(w, blk + 16 + 32 * n + k);
                    for (int j = 0; j < 4; j++) {
                        int v = 128 * n + 32 * j + k;
                        acc = scaledDot(acc, quant(bits, j), q, ab + v * 2, scalesPer16(scales, v));
                    }
                }
            }
            float dx = s.getAtIndex(ValueLayout.JAVA_FLOAT, (long) t * blocks + b);
            sum = Math.fma(dx * f16(w, blk + 80), SimdWide.sum(acc), sum);
            minSum = Math.fma(dx * f16(w, blk + 82), minsDot(bsums, ((long) t * blocks + b) * 16, mins), minSum);
        }
        return sum - minSum;
    }

    @Override
    void dot4(MemorySegment w, long row, EncodedActivations x, int t, float[] out, int outIndex, int outStride) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales(), bsums = x.sums();
        int[] scales = new int[16], mins = new int[16];
        long vectorBytes = (long) x.length() * 2;
        long a0 = t * vectorBytes, a1 = a0 + vectorBytes, a2 = a1 + vectorBytes, a3 = a2 + vectorBytes;
        float sum0 = 0f, sum1 = 0f, sum2 = 0f, sum3 = 0f, min0 = 0f, min1 = 0f, min2 = 0f, min3 = 0f;
        for (int b = 0; b < blocks; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            scalesAndMins(w, blk, scales, mins);
            long o = b * 512L;
            IntVector acc0 = IntVector.zero(INTS), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int n = 0; n < 2; n++) {
                for (int k = 0; k < 32; k += LANES) {
                    ShortVector bits = unsignedBytes(w, blk + 16 + 32 * n + k);
                    for (int j = 0; j < 4; j++) {
                        int v = 128 * n + 32 * j + k;
                        ShortVector wq = quant(bits, j);
                        IntVector sc = scalesPer16(scales, v);
                        long ov = o + v * 2L;
                        acc0 = scaledDot(acc0, wq, q, a0 + ov, sc);
                        acc1 = scaledDot(acc1, wq, q, a1 + ov, sc);
                        acc2 = scaledDot(acc2, wq, q, a2 + ov, sc);
                        acc3 = scaledDot(acc3, wq, q, a3 + ov, sc);
                    }
                }
            }
            float d = f16(w, blk + 80), dmin = f16(w, blk + 82);
            long bt = (long) t * blocks + b;
            float dx0 = s.getAtIndex(ValueLayout.JAVA_FLOAT, bt), dx1 = s.getAtIndex(ValueLayout.JAVA_FLOAT, bt + blocks);
            float dx2 = s.getAtIndex(ValueLayout.JAVA_FLOAT, bt + 2L * blocks), dx3 = s.getAtIndex(ValueLayout.JAVA_FLOAT, bt + 3L * blocks);
            sum0 = Math.fma(dx0 * d, SimdWide.sum(acc0), sum0);
            sum1 = Math.fma(dx1 * d, SimdWide.sum(acc1), sum1);
            sum2 = Math.fma(dx2 * d, SimdWide.sum(acc2), sum2);
            sum3 = Math.fma(dx3 * d, SimdWide.sum(acc3), sum3);
            min0 = Math.fma(dx0 * dmin, minsDot(bsums, bt * 16, mins), min0);
            min1 = Math.fma(dx1 * dmin, minsDot(bsums, (bt + blocks) * 16, mins), min1);
            min2 = Math.fma(dx2 * dmin, minsDot(bsums, (bt + 2L * blocks) * 16, mins), min2);
            min3 = Math.fma(dx3 * dmin, minsDot(bsums, (bt + 3L * blocks) * 16, mins), min3);
        }
        out[outIndex] = sum0 - min0;
        out[outIndex + outStride] = sum1 - min1;
        out[outIndex + 2 * outStride] = sum2 - min2;
        out[outIndex + 3 * outStride] = sum3 - min3;
    }

    private static ShortVector quant(ShortVector bits, int j) {
        return bits.lanewise(VectorOperators.LSHR, 2 * j).and((short) 3);
    }

    /** Σ min_i · (sum of the activation quants i·16..i·16+15), from the sums at {@code index}. */
    private static int minsDot(MemorySegment bsums, long index, int[] mins) {
        int sum = 0;
        for (int i = 0; i < 16; i++) sum += mins[i] * bsums.getAtIndex(ValueLayout.JAVA_SHORT, index + i);
        return sum;
    }
}

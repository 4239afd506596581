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
import static dev.herd.engine.tensor.types.SimdWide.unsignedBytes;

/**
 * Q4_K: super-blocks of 256 values, 144 bytes: half {@code d}, half {@code dmin}, 12 bytes of
 * 6-bit scales and mins for eight 32-value sub-blocks, then 128 bytes of nibbles (byte l of group
 * g holds value 64g+l in its low nibble, 64g+32+l in its high nibble);
 * value = d·scale·nibble − dmin·min. Dot product against Q8_K activations as
 * {@code ggml_vec_dot_q4_K_q8_K}: {@code d_x·d·Σ scale·Σ q·x − d_x·dmin·Σ min·bsum}, the sums
 * exact integers.
 */
public final class Q4_K extends RowKernel {

    static final int BLOCK_BYTES = 144;

    public Q4_K() { super(GgmlType.Q4_K, ActivationEncoding.Q8_K); }

    /** ggml's {@code get_scale_min_k4} for all eight sub-blocks. */
    static void scalesAndMins(MemorySegment m, long scalesAt, int[] scales, int[] mins) {
        for (int j = 0; j < 4; j++) {
            scales[j] = u8(m, scalesAt + j) & 63;
            mins[j] = u8(m, scalesAt + j + 4) & 63;
        }
        for (int j = 4; j < 8; j++) {
            scales[j] = (u8(m, scalesAt + j + 4) & 0xF) | ((u8(m, scalesAt + j - 4) >>> 6) << 4);
            mins[j] = (u8(m, scalesAt + j + 4) >>> 4) | ((u8(m, scalesAt + j) >>> 6) << 4);
        }
    }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        checkBlocks(type(), count);
        int[] scales = new int[8], mins = new int[8];
        for (int b = 0; b < count / 256; b++) {
            long blk = byteOffset + (long) b * BLOCK_BYTES;
            float d = f16(src, blk), dmin = f16(src, blk + 2);
            scalesAndMins(src, blk + 4, scales, mins);
            int o = dstOffset + b * 256;
            for (int g = 0; g < 4; g++) {
                float d1 = d * scales[2 * g], m1 = dmin * mins[2 * g];
                float d2 = d * scales[2 * g + 1], m2 = dmin * mins[2 * g + 1];
                for (int l = 0; l < 32; l++) {
                    int qs = u8(src, blk + 16 + 32 * g + l);
                    dst[o + 64 * g + l] = d1 * (qs & 0xF) - m1;
                    dst[o + 64 * g + 32 + l] = d2 * (qs >>> 4) - m2;
                }
            }
        }
    }

    @Override
    float dot1(MemorySegment w, long row, EncodedActivations x, int t) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales(), bsums = x.sums();
        int[] scales = new int[8], mins = new int[8];
        long a = (long) t * x.length() * 2;
        float sum = 0f, minSum = 0f;
        for (int b = 0; b < blocks; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            scalesAndMins(w, blk + 4, scales, mins);
            long ab = a + b * 512L;
            IntVector acc = IntVector.zero(INTS);
            for (int g = 0; g < 4; g++) {
                for (int k = 0; k < 32; k += LANES) {
                    ShortVector v = unsignedBytes(w, blk + 16 + 32 * g + k);
                    acc = scaledDot(acc, v.and((short) 0x0F), q, ab + (64 * g + k) * 2, scales[2 * g]);
                    acc = scaledDot(acc, v.lanewise(VectorOperators.LSHR, 4), q, ab + (64 * g + 32 + k) * 2, scales[2 * g + 1]);
                }
            }
            float dx = s.getAtIndex(ValueLayout.JAVA_FLOAT, (long) t * blocks + b);
            sum = Math.fma(dx * f16(w, blk), SimdWide.sum(acc), sum);
            minSum = Math.fma(dx * f16(w, blk + 2), minsDot(bsums, ((long) t * blocks + b) * 16, mins), minSum);
        }
        return sum - minSum;
    }

    @Override
    void dot4(MemorySegment w, long row, EncodedActivations x, int t, float[] out, int outIndex, int outStride) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales(), bsums = x.sums();
        int[] scales = new int[8], mins = new int[8];
        long vectorBytes = (long) x.length() * 2;
        long a0 = t * vectorBytes, a1 = a0 + vectorBytes, a2 = a1 + vectorBytes, a3 = a2 + vectorBytes;
        float sum0 = 0f, sum1 = 0f, sum2 = 0f, sum3 = 0f, min0 = 0f, min1 = 0f, min2 = 0f, min3 = 0f;
        for (int b = 0; b < blocks; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            scalesAndMins(w, blk + 4, scales, mins);
            long o = b * 512L;
            IntVector acc0 = IntVector.zero(INTS), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int g = 0; g < 4; g++) {
                for (int k = 0; k < 32; k += LANES) {
                    ShortVector v = unsignedBytes(w, blk + 16 + 32 * g + k);
                    ShortVector lo = v.and((short) 0x0F), hi = v.lanewise(VectorOperators.LSHR, 4);
                    long ol = o + (64 * g + k) * 2, oh = o + (64 * g + 32 + k) * 2;
                    int sl = scales[2 * g], sh = scales[2 * g + 1];
                    acc0 = scaledDot(scaledDot(acc0, lo, q, a0 + ol, sl), hi, q, a0 + oh, sh);
                    acc1 = scaledDot(scaledDot(acc1, lo, q, a1 + ol, sl), hi, q, a1 + oh, sh);
                    acc2 = scaledDot(scaledDot(acc2, lo, q, a2 + ol, sl), hi, q, a2 + oh, sh);
                    acc3 = scaledDot(scaledDot(acc3, lo, q, a3 + ol, sl), hi, q, a3 + oh, sh);
                }
            }
            float d = f16(w, blk), dmin = f16(w, blk + 2);
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

    /** Σ min_j · (sum of the activation quants of sub-block j), from the 16-value sums at {@code index}. */
    static int minsDot(MemorySegment bsums, long index, int[] mins) {
        int sum = 0;
        for (int j = 0; j < 8; j++) {
            sum += mins[j] * (bsums.getAtIndex(ValueLayout.JAVA_SHORT, index + 2 * j) + bsums.getAtIndex(ValueLayout.JAVA_SHORT, index + 2 * j + 1));
        }
        return sum;
    }
}

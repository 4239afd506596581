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
 * Q5_K: super-blocks of 256 values, 176 bytes: half {@code d}, half {@code dmin}, 12 bytes of
 * 6-bit scales and mins (as Q4_K), 32 bytes of high bits (bit 2g of byte l is the fifth bit of
 * value 64g+l, bit 2g+1 that of value 64g+32+l), then 128 bytes of nibbles laid out as Q4_K;
 * value = d·scale·q − dmin·min. Dot product against Q8_K activations as
 * {@code ggml_vec_dot_q5_K_q8_K}.
 */
public final class Q5_K extends RowKernel {

    static final int BLOCK_BYTES = 176;

    public Q5_K() { super(GgmlType.Q5_K, ActivationEncoding.Q8_K); }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        checkBlocks(type(), count);
        int[] scales = new int[8], mins = new int[8];
        for (int b = 0; b < count / 256; b++) {
            long blk = byteOffset + (long) b * BLOCK_BYTES;
            float d = f16(src, blk), dmin = f16(src, blk + 2);
            Q4_K.scalesAndMins(src, blk + 4, scales, mins);
            int o = dstOffset + b * 256;
            for (int g = 0; g < 4; g++) {
                float d1 = d * scales[2 * g], m1 = dmin * mins[2 * g];
                float d2 = d * scales[2 * g + 1], m2 = dmin * mins[2 * g + 1];
                for (int l = 0; l < 32; l++) {
                    int qs = u8(src, blk + 48 + 32 * g + l), qh = u8(src, blk + 16 + l);
                    dst[o + 64 * g + l] = d1 * ((qs & 0xF) + ((qh >>> (2 * g)) & 1) * 16) - m1;
                    dst[o + 64 * g + 32 + l] = d2 * ((qs >>> 4) + ((qh >>> (2 * g + 1)) & 1) * 16) - m2;
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
            Q4_K.scalesAndMins(w, blk + 4, scales, mins);
            long ab = a + b * 512L;
            IntVector acc = IntVector.zero(INTS);
            for (int k = 0; k < 32; k += LANES) {
                ShortVector high = unsignedBytes(w, blk + 16 + k).lanewise(VectorOperators.LSHL, 4);
                for (int g = 0; g < 4; g++) {
                    ShortVector v = unsignedBytes(w, blk + 48 + 32 * g + k);
                    acc = scaledDot(acc, low(v, high, g), q, ab + (64 * g + k) * 2, scales[2 * g]);
                    acc = scaledDot(acc, hi(v, high, g), q, ab + (64 * g + 32 + k) * 2, scales[2 * g + 1]);
                }
            }
            float dx = s.getAtIndex(ValueLayout.JAVA_FLOAT, (long) t * blocks + b);
            sum = Math.fma(dx * f16(w, blk), SimdWide.sum(acc), sum);
            minSum = Math.fma(dx * f16(w, blk + 2), Q4_K.minsDot(bsums, ((long) t * blocks + b) * 16, mins), minSum);
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
            Q4_K.scalesAndMins(w, blk + 4, scales, mins);
            long o = b * 512L;
            IntVector acc0 = IntVector.zero(INTS), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int k = 0; k < 32; k += LANES) {
                ShortVector high = unsignedBytes(w, blk + 16 + k).lanewise(VectorOperators.LSHL, 4);
                for (int g = 0; g < 4; g++) {
                    ShortVector v = unsignedBytes(w, blk + 48 + 32 * g + k);
                    ShortVector lo = low(v, high, g), hi = hi(v, high, g);
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
            min0 = Math.fma(dx0 * dmin, Q4_K.minsDot(bsums, bt * 16, mins), min0);
            min1 = Math.fma(dx1 * dmin, Q4_K.minsDot(bsums, (bt + blocks) * 16, mins), min1);
            min2 = Math.fma(dx2 * dmin, Q4_K.minsDot(bsums, (bt + 2L * blocks) * 16, mins), min2);
            min3 = Math.fma(dx3 * dmin, Q4_K.minsDot(bsums, (bt + 3L * blocks) * 16, mins), min3);
        }
        out[outIndex] = sum0 - min0;
        out[outIndex + outStride] = sum1 - min1;
        out[outIndex + 2 * outStride] = sum2 - min2;
        out[outIndex + 3 * outStride] = sum3 - min3;
    }

    /** Values 64g+k.. : low nibbles plus bit 2g of the high-bit bytes (pre-shifted left by 4) as bit 4. */
    private static ShortVector low(ShortVector v, ShortVector high4, int g) {
        return v.and((short) 0x0F).or(high4.lanewise(VectorOperators.LSHR, 2 * g).and((short) 0x10));
    }

    /** Values 64g+32+k.. : high nibbles plus bit 2g+1 as bit 4. */
    private static ShortVector hi(ShortVector v, ShortVector high4, int g) {
        return v.lanewise(VectorOperators.LSHR, 4).or(high4.lanewise(VectorOperators.LSHR, 2 * g + 1).and((short) 0x10));
    }
}

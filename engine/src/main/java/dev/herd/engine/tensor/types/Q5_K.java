package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.herd.engine.tensor.types.Q4_K.at;
import static dev.herd.engine.tensor.types.SimdWide.INTS;
import static dev.herd.engine.tensor.types.SimdWide.LANES;
import static dev.herd.engine.tensor.types.SimdWide.NATIVE;
import static dev.herd.engine.tensor.types.SimdWide.scaledDot;
import static dev.herd.engine.tensor.types.SimdWide.unsignedBytes;

/**
 * Q5_K: super-blocks of 256 values, 176 bytes: half {@code d}, half {@code dmin}, 12 bytes of
 * 6-bit scales and mins (as Q4_K), 32 bytes of high bits (bit 2g of byte l is the fifth bit of
 * value 64g+l, bit 2g+1 that of value 64g+32+l), then 128 bytes of nibbles laid out as Q4_K;
 * value = d·scale·q − dmin·min. Dot product as {@code ggml_vec_dot_q5_K_q8_K}.
 */
public final class Q5_K extends SuperBlockKernel {

    static final int BLOCK_BYTES = 176;

    public Q5_K() { super(GgmlType.Q5_K, Mins.PER_32); }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        checkBlocks(type(), count);
        for (int b = 0; b < count / 256; b++) {
            long blk = byteOffset + (long) b * BLOCK_BYTES;
            float d = f16(src, blk), dmin = f16(src, blk + 2);
            long lo = src.get(LE_LONG, blk + 4);
            int hi = src.get(LE_INT, blk + 12);
            long scales = Q4_K.scales(lo, hi), mins = Q4_K.mins(lo, hi);
            int o = dstOffset + b * 256;
            for (int g = 0; g < 4; g++) {
                float d1 = d * at(scales, 2 * g), m1 = dmin * at(mins, 2 * g);
                float d2 = d * at(scales, 2 * g + 1), m2 = dmin * at(mins, 2 * g + 1);
                for (int l = 0; l < 32; l++) {
                    int qs = u8(src, blk + 48 + 32 * g + l), qh = u8(src, blk + 16 + l);
                    dst[o + 64 * g + l] = d1 * ((qs & 0xF) + ((qh >>> (2 * g)) & 1) * 16) - m1;
                    dst[o + 64 * g + 32 + l] = d2 * ((qs >>> 4) + ((qh >>> (2 * g + 1)) & 1) * 16) - m2;
                }
            }
        }
    }

    /** Values 64g+k.. : low nibbles plus bit 2g of the high-bit bytes (pre-shifted left by 4) as bit 4. */
    private static ShortVector low(ShortVector v, ShortVector high4, int g) {
        return v.and((short) 0x0F).or(high4.lanewise(VectorOperators.LSHR, 2 * g).and((short) 0x10));
    }

    /** Values 64g+32+k.. : high nibbles plus bit 2g+1 as bit 4. */
    private static ShortVector high(ShortVector v, ShortVector high4, int g) {
        return v.lanewise(VectorOperators.LSHR, 4).or(high4.lanewise(VectorOperators.LSHR, 2 * g + 1).and((short) 0x10));
    }

    @Override
    float dot1(MemorySegment w, long row, EncodedActivations x, int[] scratch) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales(), bsums = x.sums();
        float sum = 0f, minSum = 0f;
        for (int b = 0; b < blocks; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            long lo = w.get(LE_LONG, blk + 4);
            int hi = w.get(LE_INT, blk + 12);
            long scales = Q4_K.scales(lo, hi);
            int dot = 0;
            for (int n = 0; n < 2; n++) dot += half(w, blk, n, q, b * 512L, scales);
            float dx = s.getAtIndex(ValueLayout.JAVA_FLOAT, b);
            sum = Math.fma(dx * f16(w, blk), dot, sum);
            minSum = Math.fma(dx * f16(w, blk + 2), BlockSums.per32(bsums, b * 32L, Q4_K.mins(lo, hi)), minSum);
        }
        return sum - minSum;
    }

    /** Σ scale·q·x over values 128n..128n+127 (sub-blocks 4n..4n+3). */
    private static int half(MemorySegment w, long blk, int n, MemorySegment q, long a, long scales) {
        IntVector acc = IntVector.zero(INTS);
        for (int k = 0; k < 32; k += LANES) {
            ShortVector high4 = unsignedBytes(w, blk + 16 + k).lanewise(VectorOperators.LSHL, 4);
            for (int g = 2 * n; g < 2 * n + 2; g++) {
                ShortVector v = unsignedBytes(w, blk + 48 + 32 * g + k);
                acc = scaledDot(acc, low(v, high4, g), q, a + (64 * g + k) * 2, at(scales, 2 * g));
                acc = scaledDot(acc, high(v, high4, g), q, a + (64 * g + 32 + k) * 2, at(scales, 2 * g + 1));
            }
        }
        return SimdWide.sum(acc);
    }

    @Override
    void decodeRow(MemorySegment w, long row, int n, MemorySegment dst) {
        int[] scales16 = SCALES.get();
        for (int b = 0; b < n / 256; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            long lo = w.get(LE_LONG, blk + 4);
            int hi = w.get(LE_INT, blk + 12);
            long scales = Q4_K.scales(lo, hi);
            for (int i = 0; i < 16; i++) scales16[i] = at(scales, i / 2);
            storeScales(dst, n, b, scales16, f16(w, blk), f16(w, blk + 2));
            dst.set(ValueLayout.JAVA_LONG, minsAt(n, b), Q4_K.mins(lo, hi));
            for (int k = 0; k < 32; k += LANES) {
                ShortVector high4 = unsignedBytes(w, blk + 16 + k).lanewise(VectorOperators.LSHL, 4);
                for (int g = 0; g < 4; g++) {
                    ShortVector v = unsignedBytes(w, blk + 48 + 32 * g + k);
                    low(v, high4, g).intoMemorySegment(dst, (b * 256L + 64 * g + k) * 2, NATIVE);
                    high(v, high4, g).intoMemorySegment(dst, (b * 256L + 64 * g + 32 + k) * 2, NATIVE);
                }
            }
        }
    }
}

package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.herd.engine.tensor.types.SimdWide.INTS;
import static dev.herd.engine.tensor.types.SimdWide.LANES;
import static dev.herd.engine.tensor.types.SimdWide.NATIVE;
import static dev.herd.engine.tensor.types.SimdWide.scaledDot;
import static dev.herd.engine.tensor.types.SimdWide.unsignedBytes;

/**
 * Q4_K: super-blocks of 256 values, 144 bytes: half {@code d}, half {@code dmin}, 12 bytes of
 * 6-bit scales and mins for eight 32-value sub-blocks, then 128 bytes of nibbles (byte l of group
 * g holds value 64g+l in its low nibble, 64g+32+l in its high nibble);
 * value = d·scale·nibble − dmin·min. Dot product as {@code ggml_vec_dot_q4_K_q8_K}.
 */
public final class Q4_K extends SuperBlockKernel {

    static final int BLOCK_BYTES = 144;

    public Q4_K() { super(GgmlType.Q4_K, Mins.PER_32); }

    /**
     * ggml's {@code get_scale_min_k4} for all eight sub-blocks at once: the 6-bit scales as the
     * bytes of a long, from the 12 scale bytes read as a long {@code lo} and an int {@code hi}.
     */
    static long scales(long lo, int hi) {
        int first = (int) lo;
        int low4 = first & 0x3F3F3F3F;
        int high4 = (hi & 0x0F0F0F0F) | (((first >>> 6) & 0x03030303) << 4);
        return (low4 & 0xFFFFFFFFL) | ((long) high4 << 32);
    }

    /** As {@link #scales} for the 6-bit mins. */
    static long mins(long lo, int hi) {
        int second = (int) (lo >>> 32);
        int low4 = second & 0x3F3F3F3F;
        int high4 = ((hi >>> 4) & 0x0F0F0F0F) | (((second >>> 6) & 0x03030303) << 4);
        return (low4 & 0xFFFFFFFFL) | ((long) high4 << 32);
    }

    /** Byte {@code j} of {@code packed}. */
    static int at(long packed, int j) {
        return (int) (packed >>> (8 * j)) & 0xFF;
    }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        checkBlocks(type(), count);
        for (int b = 0; b < count / 256; b++) {
            long blk = byteOffset + (long) b * BLOCK_BYTES;
            float d = f16(src, blk), dmin = f16(src, blk + 2);
            long lo = src.get(LE_LONG, blk + 4);
            int hi = src.get(LE_INT, blk + 12);
            long scales = scales(lo, hi), mins = mins(lo, hi);
            int o = dstOffset + b * 256;
            for (int g = 0; g < 4; g++) {
                float d1 = d * at(scales, 2 * g), m1 = dmin * at(mins, 2 * g);
                float d2 = d * at(scales, 2 * g + 1), m2 = dmin * at(mins, 2 * g + 1);
                for (int l = 0; l < 32; l++) {
                    int qs = u8(src, blk + 16 + 32 * g + l);
                    dst[o + 64 * g + l] = d1 * (qs & 0xF) - m1;
                    dst[o + 64 * g + 32 + l] = d2 * (qs >>> 4) - m2;
                }
            }
        }
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
            long scales = scales(lo, hi);
            int dot = 0;
            for (int n = 0; n < 2; n++) dot += half(w, blk, n, q, b * 512L, scales);
            float dx = s.getAtIndex(ValueLayout.JAVA_FLOAT, b);
            sum = Math.fma(dx * f16(w, blk), dot, sum);
            minSum = Math.fma(dx * f16(w, blk + 2), BlockSums.per32(bsums, b * 32L, mins(lo, hi)), minSum);
        }
        return sum - minSum;
    }

    /** Σ scale·q·x over values 128n..128n+127 (sub-blocks 4n..4n+3). */
    private static int half(MemorySegment w, long blk, int n, MemorySegment q, long a, long scales) {
        IntVector acc = IntVector.zero(INTS);
        for (int g = 2 * n; g < 2 * n + 2; g++) {
            for (int k = 0; k < 32; k += LANES) {
                ShortVector v = unsignedBytes(w, blk + 16 + 32 * g + k);
                acc = scaledDot(acc, v.and((short) 0x0F), q, a + (64 * g + k) * 2, at(scales, 2 * g));
                acc = scaledDot(acc, v.lanewise(VectorOperators.LSHR, 4), q, a + (64 * g + 32 + k) * 2, at(scales, 2 * g + 1));
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
            long scales = scales(lo, hi);
            for (int i = 0; i < 16; i++) scales16[i] = at(scales, i / 2);
            storeScales(dst, n, b, scales16, f16(w, blk), f16(w, blk + 2));
            dst.set(ValueLayout.JAVA_LONG, minsAt(n, b), mins(lo, hi));
            for (int g = 0; g < 4; g++) {
                for (int k = 0; k < 32; k += LANES) {
                    ShortVector v = unsignedBytes(w, blk + 16 + 32 * g + k);
                    v.and((short) 0x0F).intoMemorySegment(dst, (b * 256L + 64 * g + k) * 2, NATIVE);
                    v.lanewise(VectorOperators.LSHR, 4).intoMemorySegment(dst, (b * 256L + 64 * g + 32 + k) * 2, NATIVE);
                }
            }
        }
    }
}

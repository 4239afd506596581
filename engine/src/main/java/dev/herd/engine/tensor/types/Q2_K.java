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
import static dev.herd.engine.tensor.types.SimdWide.scalesPer16;
import static dev.herd.engine.tensor.types.SimdWide.unsignedBytes;

/**
 * Q2_K: super-blocks of 256 values, 84 bytes: 16 bytes of 4-bit scale (low nibble) and min (high
 * nibble) per 16 values, 64 bytes of 2-bit quants, half {@code d}, half {@code dmin}. In each half
 * n of 128 values, bit pair j of byte l of {@code qs[32n..]} is value 128n+32j+l;
 * value = d·scale·q − dmin·min. Dot product as {@code ggml_vec_dot_q2_K_q8_K}.
 */
public final class Q2_K extends SuperBlockKernel {

    static final int BLOCK_BYTES = 84;

    public Q2_K() { super(GgmlType.Q2_K, Mins.PER_16); }

    /** Scales into {@code out[0..16)}, mins into {@code out[16..32)}, from two 8-byte loads. */
    private static void scalesAndMins(MemorySegment w, long blk, int[] out) {
        long lo = w.get(LE_LONG, blk), hi = w.get(LE_LONG, blk + 8);
        for (int i = 0; i < 8; i++) {
            int a = (int) (lo >>> (8 * i)) & 0xFF, b = (int) (hi >>> (8 * i)) & 0xFF;
            out[i] = a & 0xF;
            out[16 + i] = a >>> 4;
            out[8 + i] = b & 0xF;
            out[24 + i] = b >>> 4;
        }
    }

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

    private static ShortVector quant(ShortVector bits, int j) {
        return bits.lanewise(VectorOperators.LSHR, 2 * j).and((short) 3);
    }

    @Override
    float dot1(MemorySegment w, long row, EncodedActivations x, int[] sm) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales(), bsums = x.sums();
        float sum = 0f, minSum = 0f;
        for (int b = 0; b < blocks; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            scalesAndMins(w, blk, sm);
            int dot = 0;
            for (int n = 0; n < 2; n++) dot += half(w, blk, n, q, b * 512L, sm);
            float dx = s.getAtIndex(ValueLayout.JAVA_FLOAT, b);
            sum = Math.fma(dx * f16(w, blk + 80), dot, sum);
            minSum = Math.fma(dx * f16(w, blk + 82), BlockSums.per16(bsums, b * 32L, w, blk), minSum);
        }
        return sum - minSum;
    }

    /** Σ scale·q·x over values 128n..128n+127. */
    private static int half(MemorySegment w, long blk, int n, MemorySegment q, long a, int[] scales) {
        IntVector acc = IntVector.zero(INTS);
        for (int k = 0; k < 32; k += LANES) {
            ShortVector bits = unsignedBytes(w, blk + 16 + 32 * n + k);
            for (int j = 0; j < 4; j++) {
                int v = 128 * n + 32 * j + k;
                acc = scaledDot(acc, quant(bits, j), q, a + v * 2, scalesPer16(scales, v));
            }
        }
        return SimdWide.sum(acc);
    }

    @Override
    void decodeRow(MemorySegment w, long row, int n, MemorySegment dst) {
        int[] sm = SCALES.get();
        for (int b = 0; b < n / 256; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            scalesAndMins(w, blk, sm);
            storeScales(dst, n, b, sm, f16(w, blk + 80), f16(w, blk + 82));
            MemorySegment.copy(w, blk, dst, minsAt(n, b), 16);
            for (int half = 0; half < 2; half++) {
                for (int k = 0; k < 32; k += LANES) {
                    ShortVector bits = unsignedBytes(w, blk + 16 + 32 * half + k);
                    for (int j = 0; j < 4; j++) {
                        quant(bits, j).intoMemorySegment(dst, (b * 256L + 128 * half + 32 * j + k) * 2, NATIVE);
                    }
                }
            }
        }
    }
}

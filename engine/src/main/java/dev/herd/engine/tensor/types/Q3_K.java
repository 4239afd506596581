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
 * Q3_K: super-blocks of 256 values, 110 bytes: 32 bytes of high-bit masks, 64 bytes of 2-bit
 * quants, 12 bytes of 6-bit scales (one per 16 values, stored plus 32), half {@code d}. In each
 * half n of 128 values, bit pair j of byte l of {@code qs[32n..]} is the low part of value
 * 128n+32j+l and bit 4n+j of {@code hmask[l]} its high bit; value = d·(scale − 32)·(low − 4 +
 * 4·high). Dot product as {@code ggml_vec_dot_q3_K_q8_K}.
 */
public final class Q3_K extends SuperBlockKernel {

    static final int BLOCK_BYTES = 110;

    public Q3_K() { super(GgmlType.Q3_K, Mins.NONE); }

    /** The sixteen signed scales ({@code scale − 32}), unpacked as ggml does from two loads. */
    private static void scales(MemorySegment m, long blk, int[] out) {
        long lo = m.get(LE_LONG, blk + 96);
        int a0 = (int) lo, a1 = (int) (lo >>> 32), a2 = m.get(LE_INT, blk + 104);
        int s03 = (a0 & 0x0F0F0F0F) | ((a2 & 0x03030303) << 4);
        int s47 = (a1 & 0x0F0F0F0F) | (((a2 >>> 2) & 0x03030303) << 4);
        int s811 = ((a0 >>> 4) & 0x0F0F0F0F) | (((a2 >>> 4) & 0x03030303) << 4);
        int s1215 = ((a1 >>> 4) & 0x0F0F0F0F) | (((a2 >>> 6) & 0x03030303) << 4);
        for (int i = 0; i < 4; i++) {
            out[i] = ((s03 >>> (8 * i)) & 0xFF) - 32;
            out[4 + i] = ((s47 >>> (8 * i)) & 0xFF) - 32;
            out[8 + i] = ((s811 >>> (8 * i)) & 0xFF) - 32;
            out[12 + i] = ((s1215 >>> (8 * i)) & 0xFF) - 32;
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

    /** Quants −4..3 of bit pair j, the high bit 4n+j taken from the masks pre-shifted left by 2. */
    private static ShortVector quant(ShortVector low, ShortVector high2, int n, int j) {
        return low.lanewise(VectorOperators.LSHR, 2 * j).and((short) 3).or(highBit(high2, 4 * n + j)).sub((short) 4);
    }

    /** 4 where bit {@code bit} of the masks is set, else 0. */
    private static ShortVector highBit(ShortVector high2, int bit) {
        return high2.lanewise(VectorOperators.LSHR, bit).and((short) 4);
    }

    @Override
    float dot1(MemorySegment w, long row, EncodedActivations x, int[] scales) {
        int blocks = x.blocksPerVector();
        MemorySegment q = x.values(), s = x.scales();
        float sum = 0f;
        for (int b = 0; b < blocks; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            scales(w, blk, scales);
            int dot = 0;
            for (int n = 0; n < 2; n++) dot += half(w, blk, n, q, b * 512L, scales);
            sum = Math.fma(s.getAtIndex(ValueLayout.JAVA_FLOAT, b) * f16(w, blk + 108), dot, sum);
        }
        return sum;
    }

    /** Σ scale·q·x over values 128n..128n+127. */
    private static int half(MemorySegment w, long blk, int n, MemorySegment q, long a, int[] scales) {
        IntVector acc = IntVector.zero(INTS);
        for (int k = 0; k < 32; k += LANES) {
            ShortVector high2 = unsignedBytes(w, blk + k).lanewise(VectorOperators.LSHL, 2);
            ShortVector low = unsignedBytes(w, blk + 32 + 32 * n + k);
            for (int j = 0; j < 4; j++) {
                int v = 128 * n + 32 * j + k;
                acc = scaledDot(acc, quant(low, high2, n, j), q, a + v * 2, scalesPer16(scales, v));
            }
        }
        return SimdWide.sum(acc);
    }

    @Override
    void decodeRow(MemorySegment w, long row, int n, MemorySegment dst) {
        int[] scales = SCALES.get();
        for (int b = 0; b < n / 256; b++) {
            long blk = row + (long) b * BLOCK_BYTES;
            scales(w, blk, scales);
            storeScales(dst, n, b, scales, f16(w, blk + 108), 0f);
            for (int k = 0; k < 32; k += LANES) {
                ShortVector high2 = unsignedBytes(w, blk + k).lanewise(VectorOperators.LSHL, 2);
                for (int half = 0; half < 2; half++) {
                    ShortVector low = unsignedBytes(w, blk + 32 + 32 * half + k);
                    for (int j = 0; j < 4; j++) {
                        quant(low, high2, half, j).intoMemorySegment(dst, (b * 256L + 128 * half + 32 * j + k) * 2, NATIVE);
                    }
                }
            }
        }
    }
}

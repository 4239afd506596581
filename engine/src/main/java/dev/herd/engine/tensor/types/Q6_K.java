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
 * Q6_K: super-blocks of 256 values, 210 bytes: 128 bytes of low nibbles, 64 bytes of 2-bit high
 * parts, 16 int8 scales (one per 16 values), half {@code d}. In each half n of 128 values, byte l
 * of {@code ql[64n..]} holds values l (low nibble) and l+64 (high), byte l+32 values l+32 and
 * l+96; byte l of {@code qh[32n..]} holds the high parts of values l, l+32, l+64, l+96 in bit pairs
 * 0, 2, 4, 6; value = d·scale·(q − 32). Dot product against Q8_K activations as
 * {@code ggml_vec_dot_q6_K_q8_K}.
 */
public final class Q6_K extends RowKernel {

    static final int BLOCK_BYTES = 210;

    public Q6_K() { super(GgmlType.Q6_K, ActivationEncoding.Q8_K); }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        checkBlocks(type(), count);
        for (int b = 0; b < count / 256; b++) {
            long blk = byteOffset + (long) b * BLOCK_BYTES;
            float d = f16(src, blk + 208);
            for (int n = 0; n < 2; n++) {
                long ql = blk + 64 * n, qh = blk + 128 + 32 * n, sc = blk + 192 + 8 * n;
                int o = dstOffset + b * 256 + 128 * n;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int lo = u8(src, ql + l), hi = u8(src, ql + l + 32), h = u8(src, qh + l);
                    int q1 = ((lo & 0xF) | ((h & 3) << 4)) - 32;
                    int q2 = ((hi & 0xF) | (((h >>> 2) & 3) << 4)) - 32;
                    int q3 = ((lo >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
                    int q4 = ((hi >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
                    dst[o + l] = d * scale(src, sc + is) * q1;
                    dst[o + l + 32] = d * scale(src, sc + is + 2) * q2;
                    dst[o + l + 64] = d * scale(src, sc + is + 4) * q3;
                    dst[o + l + 96] = d * scale(src, sc + is + 6) * q4;
                }
            }
        }
    }

    private static int scale(MemorySegment m, long offset) {
        return m.get(ValueLayout.JAVA_BYTE, offset);
    }

    private static void scales(MemorySegment w, long blk, int[] scales) {
        for (int i = 0; i < 16; i++) scales[i] = scale(w, blk + 192 + i);
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
            for (int n = 0; n < 2; n++) {
                for (int k = 0; k < 32; k += LANES) {
                    ShortVector lo = unsignedBytes(w, blk + 64 * n + k), hi = unsignedBytes(w, blk + 64 * n + 32 + k);
                    ShortVector h = unsignedBytes(w, blk + 128 + 32 * n + k);
                    int v = 128 * n + k;
                    acc = scaledDot(acc, q0(lo, h), q, ab + v * 2, scalesPer16(scales, v));
                    acc = scaledDot(acc, q1(hi, h), q, ab + (v + 32) * 2, scalesPer16(scales, v + 32));
                    acc = scaledDot(acc, q2(lo, h), q, ab + (v + 64) * 2, scalesPer16(scales, v + 64));
                    acc = scaledDot(acc, q3(hi, h), q, ab + (v + 96) * 2, scalesPer16(scales, v + 96));
                }
            }
            float dx = s.getAtIndex(ValueLayout.JAVA_FLOAT, (long) t * blocks + b);
            sum = Math.fma(dx * f16(w, blk + 208), SimdWide.sum(acc), sum);
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
            for (int n = 0; n < 2; n++) {
                for (int k = 0; k < 32; k += LANES) {
                    ShortVector lo = unsignedBytes(w, blk + 64 * n + k), hi = unsignedBytes(w, blk + 64 * n + 32 + k);
                    ShortVector h = unsignedBytes(w, blk + 128 + 32 * n + k);
                    for (int c = 0; c < 4; c++) {
                        ShortVector wq = switch (c) {
                            case 0 -> q0(lo, h);
                            case 1 -> q1(hi, h);
                            case 2 -> q2(lo, h);
                            default -> q3(hi, h);
                        };
                        int v = 128 * n + 32 * c + k;
                        IntVector sc = scalesPer16(scales, v);
                        long ov = o + v * 2L;
                        acc0 = scaledDot(acc0, wq, q, a0 + ov, sc);
                        acc1 = scaledDot(acc1, wq, q, a1 + ov, sc);
                        acc2 = scaledDot(acc2, wq, q, a2 + ov, sc);
                        acc3 = scaledDot(acc3, wq, q, a3 + ov, sc);
                    }
                }
            }
            float d = f16(w, blk + 208);
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

    private static final short LOW = 0x0F, HIGH = 0x30, OFFSET = 32;

    private static ShortVector q0(ShortVector lo, ShortVector h) {
        return lo.and(LOW).or(h.lanewise(VectorOperators.LSHL, 4).and(HIGH)).sub(OFFSET);
    }

    private static ShortVector q1(ShortVector hi, ShortVector h) {
        return hi.and(LOW).or(h.lanewise(VectorOperators.LSHL, 2).and(HIGH)).sub(OFFSET);
    }

    private static ShortVector q2(ShortVector lo, ShortVector h) {
        return lo.lanewise(VectorOperators.LSHR, 4).or(h.and(HIGH)).sub(OFFSET);
    }

    private static ShortVector q3(ShortVector hi, ShortVector h) {
        return hi.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, 2).and(HIGH)).sub(OFFSET);
    }
}

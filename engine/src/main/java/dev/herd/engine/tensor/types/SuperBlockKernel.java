package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.IntVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.herd.engine.tensor.types.SimdWide.INTS;
import static dev.herd.engine.tensor.types.SimdWide.LANES;
import static dev.herd.engine.tensor.types.SimdWide.NATIVE;
import static dev.herd.engine.tensor.types.SimdWide.scaledDot;
import static dev.herd.engine.tensor.types.SimdWide.shorts;

/**
 * K-quants: 256-value super-blocks against Q8_K activations, as llama.cpp's
 * {@code ggml_vec_dot_q*_K_q8_K}. Per super-block, two exact integers — {@code Σ scale·Σ q·x} and,
 * for types with minimums, {@code Σ min·bsum} — then
 * {@code sum = fma(d_x·d, Σ scale·q·x, sum)} and {@code minSum = fma(d_x·dmin, Σ min·bsum, minSum)};
 * the result is {@code sum − minSum}. The integers are exact whatever the vector width, so results
 * are the same on every machine.
 *
 * <p>Decoded row (n values, nb super-blocks): the quants as int16; the scale of every int lane
 * (one int per two values, so a step loads its scales with one vector load); 16 bytes per
 * super-block describing its minimums; {@code d} and {@code dmin} per super-block as floats.
 */
abstract class SuperBlockKernel extends RowKernel {

    /** How a type's minimums are kept in the decoded row. */
    enum Mins {
        /** No minimums (Q3_K, Q6_K). */
        NONE,
        /** Eight 6-bit minimums per 32 values, as the bytes of a long (Q4_K, Q5_K). */
        PER_32,
        /** Sixteen 4-bit minimums per 16 values, the high nibbles of 16 bytes (Q2_K's scale bytes). */
        PER_16
    }

    private final Mins mins;

    /** Each thread's scratch for a super-block's unpacked scales (and Q2_K's minimums), so decoding allocates nothing. */
    static final ThreadLocal<int[]> SCALES = ThreadLocal.withInitial(() -> new int[32]);

    SuperBlockKernel(GgmlType type, Mins mins) {
        super(type, ActivationEncoding.Q8_K);
        this.mins = mins;
    }

    @Override
    final long decodedBytes(int n) {
        return n * 4L + n / 256 * 24L;
    }

    /** Byte offset of super-block {@code b}'s 16 bytes of minimums in a decoded row of {@code n} values. */
    static long minsAt(int n, int b) {
        return n * 4L + b * 16L;
    }

    /** Stores super-block {@code b}'s scales (one per 16 values, as lane scales), {@code d} and {@code dmin}. */
    static void storeScales(MemorySegment dst, int n, int b, int[] scales16, float d, float dmin) {
        long lanes = n * 2L + b * 512L;
        for (int g = 0; g < 16; g++) IntVector.broadcast(Simd256.INTS, scales16[g]).intoMemorySegment(dst, lanes + g * 32L, NATIVE);
        long ds = n * 4L + n / 256 * 16L;
        dst.set(ValueLayout.JAVA_FLOAT, ds + b * 4L, d);
        dst.set(ValueLayout.JAVA_FLOAT, ds + n / 256 * 4L + b * 4L, dmin);
    }

    /**
     * Batches in exact float arithmetic: each decoded row is expanded once to floats
     * {@code quant · sub-block scale} (|value| ≤ 4096) and the activation quants to floats
     * (|q| ≤ 127), so every product is an exact integer, and so is every partial sum in a lane:
     * a lane adds at most 32 products of a super-block (8 lanes or more), 32 · 4096 · 127 <
     * 2^24. The lanes, converted back to int and added, give exactly the super-block integer the
     * int16 path computes, so the results are bit for bit those of {@link #dotDecoded}, at one
     * FMA per 8 or 16 multiply-adds instead of five integer instructions per 16. Tiles of two rows ×
     * four vectors: eight independent FMA chains, each weight and activation load used 4 and 2 times.
     */
    @Override
    final void multiplyBatch(MemorySegment w, long rowBytes, int rowStart, int rowEnd, EncodedActivations x, float[] out, int outStride) {
        if (!ExactFloats.SUPPORTED) {
            multiplyDecoded(w, rowBytes, rowStart, rowEnd, x, out, outStride);
            return;
        }
        int n = x.length(), count = x.count();
        long stride = decodedStride(n);
        MemorySegment dec0 = buffer(0, stride), dec1 = buffer(3, stride), floats = buffer(1, 2L * n * 4), xf = buffer(2, (long) count * n * 4);
        int[] dots = ExactFloats.DOTS.get();
        ExactFloats.widen(x.values(), xf, (long) count * n);
        for (int r = rowStart; r < rowEnd; r += 2) {
            // an odd last row is paired with itself, and a short last group of vectors repeats
            // its last vector: every lane is independent, so the results kept are unchanged
            int r1 = Math.min(r + 1, rowEnd - 1);
            decodeRow(w, r * rowBytes, n, dec0);
            decodeRow(w, r1 * rowBytes, n, dec1);
            ExactFloats.expand(dec0, n, floats, 0);
            ExactFloats.expand(dec1, n, floats, n * 4L);
            for (int t = 0; t < count; t += 4) {
                tile(dec0, dec1, floats, n, xf, x, t, Math.min(t + 1, count - 1), Math.min(t + 2, count - 1),
                        Math.min(t + 3, count - 1), mins, dots, out, outStride, r, r1);
            }
        }
    }

    /** Two decoded rows × four vectors ({@code t0..t3}, possibly repeated), each result as {@link #dot} computes it. */
    private static void tile(MemorySegment dec0, MemorySegment dec1, MemorySegment floats, int n, MemorySegment xf, EncodedActivations x,
                             int t0, int t1, int t2, int t3, Mins mins, int[] dots, float[] out, int outStride, int r0, int r1) {
        int blocks = n / 256;
        float[] sums = ExactFloats.SUMS.get();
        java.util.Arrays.fill(sums, 0f);
        int[] ts = ExactFloats.VECTORS.get();
        ts[0] = t0;
        ts[1] = t1;
        ts[2] = t2;
        ts[3] = t3;
        for (int b = 0; b < blocks; b++) {
            ExactFloats.superBlock2x4(floats, b * 1024L, n * 4L + b * 1024L, xf, (long) n * 4, b * 1024L, t0, t1, t2, t3, dots);
            long db = n * 4L + blocks * 16L + b * 4L;
            float d0 = dec0.get(ValueLayout.JAVA_FLOAT, db), d1 = dec1.get(ValueLayout.JAVA_FLOAT, db);
            for (int j = 0; j < 4; j++) {
                float dx = x.scales().getAtIndex(ValueLayout.JAVA_FLOAT, (long) ts[j] * blocks + b);
                sums[j] = Math.fma(dx * d0, dots[j], sums[j]);
                sums[4 + j] = Math.fma(dx * d1, dots[4 + j], sums[4 + j]);
                if (mins != Mins.NONE) {
                    long bsumsAt = ((long) ts[j] * blocks + b) * 32, minsAt = minsAt(n, b), dminAt = db + blocks * 4L;
                    MemorySegment bsums = x.sums();
                    int m0 = mins == Mins.PER_32 ? BlockSums.per32(bsums, bsumsAt, dec0.get(ValueLayout.JAVA_LONG, minsAt))
                            : BlockSums.per16(bsums, bsumsAt, dec0, minsAt);
                    int m1 = mins == Mins.PER_32 ? BlockSums.per32(bsums, bsumsAt, dec1.get(ValueLayout.JAVA_LONG, minsAt))
                            : BlockSums.per16(bsums, bsumsAt, dec1, minsAt);
                    sums[8 + j] = Math.fma(dx * dec0.get(ValueLayout.JAVA_FLOAT, dminAt), m0, sums[8 + j]);
                    sums[12 + j] = Math.fma(dx * dec1.get(ValueLayout.JAVA_FLOAT, dminAt), m1, sums[12 + j]);
                }
            }
        }
        for (int j = 0; j < 4; j++) {
            out[ts[j] * outStride + r0] = mins == Mins.NONE ? sums[j] : sums[j] - sums[8 + j];
            out[ts[j] * outStride + r1] = mins == Mins.NONE ? sums[4 + j] : sums[4 + j] - sums[12 + j];
        }
    }

    @Override
    final float dotDecoded(MemorySegment decoded, EncodedActivations x, int t) {
        return dot(decoded, x, t, mins);
    }

    private static float dot(MemorySegment decoded, EncodedActivations x, int t, Mins mins) {
        int n = x.length(), blocks = n / 256;
        MemorySegment q = x.values(), s = x.scales(), bsums = x.sums();
        long a = (long) t * n * 2, ds = n * 4L + blocks * 16L;
        float sum = 0f, minSum = 0f;
        for (int b = 0; b < blocks; b++) {
            int dot = decodedDot(decoded, b * 512L, n * 2L + b * 512L, q, a + b * 512L);
            float dx = s.getAtIndex(ValueLayout.JAVA_FLOAT, (long) t * blocks + b);
            sum = Math.fma(dx * decoded.get(ValueLayout.JAVA_FLOAT, ds + b * 4L), dot, sum);
            if (mins != Mins.NONE) {
                long bsumsAt = ((long) t * blocks + b) * 32, minsAt = minsAt(n, b);
                int minDot = mins == Mins.PER_32 ? BlockSums.per32(bsums, bsumsAt, decoded.get(ValueLayout.JAVA_LONG, minsAt))
                        : BlockSums.per16(bsums, bsumsAt, decoded, minsAt);
                minSum = Math.fma(dx * decoded.get(ValueLayout.JAVA_FLOAT, ds + blocks * 4L + b * 4L), minDot, minSum);
            }
        }
        return mins == Mins.NONE ? sum : sum - minSum;
    }

    /** Σ scale·q·x over one super-block of a decoded row: quants at byte {@code w}, lane scales at {@code scales}. */
    private static int decodedDot(MemorySegment decoded, long w, long scales, MemorySegment q, long a) {
        IntVector acc = IntVector.zero(INTS);
        for (int v = 0; v < 256; v += LANES) {
            acc = scaledDot(acc, shorts(decoded, w + v * 2L), q, a + v * 2L, IntVector.fromMemorySegment(INTS, decoded, scales + v * 2L, NATIVE));
        }
        return SimdWide.sum(acc);
    }
}

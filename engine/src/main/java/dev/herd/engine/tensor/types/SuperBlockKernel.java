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
import static dev.herd.engine.tensor.types.SimdWide.pairSum;
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
abstract class SuperBlockKernel extends FusedRowKernel {

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
            acc = acc.add(pairSum(shorts(decoded, w + v * 2L).mul(shorts(q, a + v * 2L))).mul(IntVector.fromMemorySegment(INTS, decoded, scales + v * 2L, NATIVE)));
        }
        return SimdWide.sum(acc);
    }
}

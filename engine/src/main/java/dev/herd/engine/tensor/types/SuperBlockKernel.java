package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.IntVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.herd.engine.tensor.types.SimdWide.INTS;
import static dev.herd.engine.tensor.types.SimdWide.LANES;
import static dev.herd.engine.tensor.types.SimdWide.scaledDot;
import static dev.herd.engine.tensor.types.SimdWide.scalesPer16;
import static dev.herd.engine.tensor.types.SimdWide.shorts;

/**
 * K-quants: 256-value super-blocks against Q8_K activations, as llama.cpp's
 * {@code ggml_vec_dot_q*_K_q8_K}. Per super-block, two exact integers — {@code Σ scale·Σ q·x} and,
 * for types with minimums, {@code Σ min·bsum} — then
 * {@code sum = fma(d_x·d, Σ scale·q·x, sum)} and {@code minSum = fma(d_x·dmin, Σ min·bsum, minSum)};
 * the result is {@code sum − minSum}. The integers are exact whatever the vector width, so results
 * are the same on every machine.
 *
 * <p>Decoded row: the n quants as int16, one int scale and one int minimum per 16 values, then
 * {@code d} and {@code dmin} per super-block as floats.
 */
abstract class SuperBlockKernel extends FusedRowKernel {

    private final boolean hasMins;

    SuperBlockKernel(GgmlType type, boolean hasMins) {
        super(type, ActivationEncoding.Q8_K);
        this.hasMins = hasMins;
    }

    @Override
    final long decodedBytes(int n) {
        return n * 2L + n / 16 * 8L + n / 256 * 8L;
    }

    /** Stores super-block {@code b}'s scales and minimums per 16 values, {@code d} and {@code dmin}. */
    static void storeScales(MemorySegment dst, int n, int b, int[] scales16, int[] mins16, float d, float dmin) {
        long scales = n * 2L, mins = scales + n / 16 * 4L, ds = mins + n / 16 * 4L;
        MemorySegment.copy(scales16, 0, dst, ValueLayout.JAVA_INT, scales + b * 64L, 16);
        MemorySegment.copy(mins16, 0, dst, ValueLayout.JAVA_INT, mins + b * 64L, 16);
        dst.set(ValueLayout.JAVA_FLOAT, ds + b * 4L, d);
        dst.set(ValueLayout.JAVA_FLOAT, ds + (n / 256) * 4L + b * 4L, dmin);
    }

    @Override
    final float dotDecoded(MemorySegment decoded, EncodedActivations x, int t) {
        return dot(decoded, x, t, hasMins);
    }

    private static float dot(MemorySegment decoded, EncodedActivations x, int t, boolean hasMins) {
        int n = x.length(), blocks = n / 256;
        MemorySegment q = x.values(), s = x.scales(), bsums = x.sums();
        long a = (long) t * n * 2, scaleAt = n * 2L, minAt = scaleAt + n / 16 * 4L, dAt = minAt + n / 16 * 4L;
        float sum = 0f, minSum = 0f;
        for (int b = 0; b < blocks; b++) {
            int dot = decodedDot(decoded, b * 512L, scaleAt + b * 64L, q, a + b * 512L);
            float dx = s.getAtIndex(ValueLayout.JAVA_FLOAT, (long) t * blocks + b);
            sum = Math.fma(dx * decoded.get(ValueLayout.JAVA_FLOAT, dAt + b * 4L), dot, sum);
            if (hasMins) {
                int minDot = 0;
                for (int i = 0; i < 16; i++) {
                    minDot += decoded.get(ValueLayout.JAVA_INT, minAt + b * 64L + i * 4L) * bsums.getAtIndex(ValueLayout.JAVA_SHORT, ((long) t * blocks + b) * 16 + i);
                }
                minSum = Math.fma(dx * decoded.get(ValueLayout.JAVA_FLOAT, dAt + blocks * 4L + b * 4L), minDot, minSum);
            }
        }
        return sum - minSum;
    }

    private static int decodedDot(MemorySegment decoded, long w, long scales, MemorySegment q, long a) {
        IntVector acc = IntVector.zero(INTS);
        for (int v = 0; v < 256; v += LANES) acc = scaledDot(acc, shorts(decoded, w + v * 2L), q, a + v * 2L, scalesPer16(decoded.get(ValueLayout.JAVA_INT, scales + (v >> 4) * 4L), decoded.get(ValueLayout.JAVA_INT, scales + (v >> 4) * 4L + 4)));
        return SimdWide.sum(acc);
    }
}

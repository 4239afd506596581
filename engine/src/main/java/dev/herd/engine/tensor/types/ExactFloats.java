package dev.herd.engine.tensor.types;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Integer dot products computed with float FMAs, exactly (see {@link SuperBlockKernel#multiplyBatch}):
 * the machine's widest float lanes, 8 or 16 of them (fewer lanes would let a lane's sum pass
 * 2^24, so then {@link #SUPPORTED} is false and the int16 path runs).
 */
final class ExactFloats {
    private ExactFloats() {}

    static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Short> SHORTS = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, FLOATS.vectorBitSize() / 2)));
    static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, FLOATS.vectorShape());
    static final int LANES = FLOATS.length();
    static final boolean SUPPORTED = LANES == 8 || LANES == 16;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    /** Per-thread state of a tile: its eight dot products, sixteen running sums and four vector indices. */
    static final ThreadLocal<int[]> DOTS = ThreadLocal.withInitial(() -> new int[8]);
    static final ThreadLocal<float[]> SUMS = ThreadLocal.withInitial(() -> new float[16]);
    static final ThreadLocal<int[]> VECTORS = ThreadLocal.withInitial(() -> new int[4]);

    /** {@code count} int16 values at {@code src} as floats at {@code dst}. */
    static void widen(MemorySegment src, MemorySegment dst, long count) {
        for (long i = 0; i < count; i += LANES) toFloats(src, i * 2).intoMemorySegment(dst, i * 4, NATIVE);
    }

    private static FloatVector toFloats(MemorySegment m, long offset) {
        return (FloatVector) ShortVector.fromMemorySegment(SHORTS, m, offset, NATIVE).convertShape(VectorOperators.S2F, FLOATS, 0);
    }

    /**
     * A decoded row (n int16 quants, then one int scale per two values, see
     * {@link SuperBlockKernel}) as floats quant · scale, at byte {@code at} of {@code dst}.
     */
    static void expand(MemorySegment decoded, int n, MemorySegment dst, long at) {
        long row = 0, scales = n * 2L;
        for (int i = 0; i < n; i += LANES) {
            // a step lies within one 16-value group, whose int lanes all hold its scale
            float scale = decoded.get(java.lang.foreign.ValueLayout.JAVA_INT, scales + i * 2L);
            toFloats(decoded, row + i * 2L).mul(scale).intoMemorySegment(dst, at + i * 4L, NATIVE);
        }
    }

    /**
     * The exact integer dot products of two rows of 256 floats (at bytes {@code w0} and {@code w1}
     * of {@code w}) with four vectors (vectors {@code t0..t3} of {@code x}, {@code vectorBytes}
     * apart, from byte {@code a} within each): {@code dots[j]} for the first row and vector j,
     * {@code dots[4 + j]} for the second.
     */
    static void superBlock2x4(MemorySegment w, long w0, long w1, MemorySegment x, long vectorBytes, long a, int t0, int t1, int t2, int t3,
                              int[] dots) {
        long x0 = t0 * vectorBytes + a, x1 = t1 * vectorBytes + a, x2 = t2 * vectorBytes + a, x3 = t3 * vectorBytes + a;
        FloatVector z = FloatVector.zero(FLOATS), a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        for (int v = 0; v < 1024; v += LANES * 4) {
            FloatVector r0 = FloatVector.fromMemorySegment(FLOATS, w, w0 + v, NATIVE), r1 = FloatVector.fromMemorySegment(FLOATS, w, w1 + v, NATIVE);
            FloatVector xv = FloatVector.fromMemorySegment(FLOATS, x, x0 + v, NATIVE);
            a00 = r0.fma(xv, a00);
            a10 = r1.fma(xv, a10);
            xv = FloatVector.fromMemorySegment(FLOATS, x, x1 + v, NATIVE);
            a01 = r0.fma(xv, a01);
            a11 = r1.fma(xv, a11);
            xv = FloatVector.fromMemorySegment(FLOATS, x, x2 + v, NATIVE);
            a02 = r0.fma(xv, a02);
            a12 = r1.fma(xv, a12);
            xv = FloatVector.fromMemorySegment(FLOATS, x, x3 + v, NATIVE);
            a03 = r0.fma(xv, a03);
            a13 = r1.fma(xv, a13);
        }
        dots[0] = exactSum(a00);
        dots[1] = exactSum(a01);
        dots[2] = exactSum(a02);
        dots[3] = exactSum(a03);
        dots[4] = exactSum(a10);
        dots[5] = exactSum(a11);
        dots[6] = exactSum(a12);
        dots[7] = exactSum(a13);
    }

    /** The lanes (exact integers) added as ints. */
    private static int exactSum(FloatVector v) {
        return ((IntVector) v.convert(VectorOperators.F2I, 0)).reduceLanes(VectorOperators.ADD);
    }
}

package dev.herd.engine.tensor;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Reductions and transcendental functions whose results never depend on whether the JIT has
 * compiled the caller. {@code FloatVector.reduceLanes(ADD)} may add lanes in any order (and the
 * compiled and interpreted versions do differ), and {@code Math.exp}/{@code sin}/{@code cos} may
 * differ by an ulp between implementations; either would make a sequence's logits depend on
 * when it ran. Batch invariance needs the same bits every time.
 */
public final class VectorMath {
    private VectorMath() {}

    /** Sum of the lanes in lane order. */
    public static float sumLanes(FloatVector v) {
        float sum = v.lane(0);
        for (int i = 1; i < v.length(); i++) sum += v.lane(i);
        return sum;
    }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    // expf: Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2, then Cephes' degree-7 polynomial for e^r
    // (within 2 ulp of e^x), scaled by 2^k in two exact steps so results down to subnormals are right.
    private static final float EXP_LO = -104f, EXP_HI = 88.8f;
    private static final float LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds to an integer, kept in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f,
            P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /**
     * e^x in float, fast and vectorisable: {@link #expf(FloatVector)} computes the same bits lane by
     * lane, so a value's result never depends on whether it fell in a vector or a loop's tail.
     * NaN stays NaN, large arguments give infinity, very negative ones zero.
     */
    public static float expf(float x) {
        float c = Math.min(Math.max(x, EXP_LO), EXP_HI);
        float t = Math.fma(c, LOG2E, ROUNDER);
        float k = t - ROUNDER;
        float r = Math.fma(-k, LN2_HI, c);
        r = Math.fma(-k, LN2_LO, r);
        float p = Math.fma(P0, r, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float y = Math.fma(p, r * r, r) + 1f;
        int ki = Float.floatToRawIntBits(t) - ROUNDER_BITS, k1 = ki >> 1, k2 = ki - k1;
        return y * Float.intBitsToFloat((k1 + 127) << 23) * Float.intBitsToFloat((k2 + 127) << 23);
    }

    /** {@link #expf(float)} of every lane. */
    public static FloatVector expf(FloatVector x) {
        FloatVector c = x.max(EXP_LO).min(EXP_HI);
        FloatVector t = c.fma(c.broadcast(LOG2E), c.broadcast(ROUNDER));
        FloatVector k = t.sub(ROUNDER), minusK = k.neg();
        FloatVector r = minusK.fma(c.broadcast(LN2_HI), c);
        r = minusK.fma(c.broadcast(LN2_LO), r);
        FloatVector p = r.broadcast(P0).fma(r, r.broadcast(P1));
        p = p.fma(r, r.broadcast(P2));
        p = p.fma(r, r.broadcast(P3));
        p = p.fma(r, r.broadcast(P4));
        p = p.fma(r, r.broadcast(P5));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        IntVector ki = ((IntVector) t.reinterpretAsInts()).sub(ROUNDER_BITS);
        IntVector k1 = ki.lanewise(VectorOperators.ASHR, 1), k2 = ki.sub(k1);
        FloatVector s1 = k1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = k2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return y.mul(s1).mul(s2);
    }

    /** {@code a[i] = expf(a[i] - shift)} for {@code i < n}. */
    public static void expShifted(float[] a, int n, float shift) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            expf(FloatVector.fromArray(F, a, i).sub(shift)).intoArray(a, i);
        }
        for (; i < n; i++) a[i] = expf(a[i] - shift);
    }

    /** {@code g[i] = silu(g[i]) * u[i]} for {@code from <= i < to}, with silu(x) = x / (1 + expf(-x)). */
    public static void siluMul(float[] g, float[] u, int from, int to) {
        int i = from;
        for (int bound = from + F.loopBound(to - from); i < bound; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, g, i);
            x.div(expf(x.neg()).add(1f)).mul(FloatVector.fromArray(F, u, i)).intoArray(g, i);
        }
        for (; i < to; i++) g[i] = g[i] / (expf(-g[i]) + 1f) * u[i];
    }

    public static float exp(float x) {
        return (float) StrictMath.exp(x);
    }

    public static double exp(double x) {
        return StrictMath.exp(x);
    }

    public static float cos(float x) {
        return (float) StrictMath.cos(x);
    }

    public static float sin(float x) {
        return (float) StrictMath.sin(x);
    }

    public static double log(double x) {
        return StrictMath.log(x);
    }

    private static final VectorSpecies<Float> F4 = FloatVector.SPECIES_128;
    private static final VectorSpecies<Double> D4 = DoubleVector.SPECIES_256;

    /**
     * {@code Σ x[i]²} over {@code x[off .. off + n)} in double (each square exact), in eight
     * partial sums combined in a fixed order, then the values past the last multiple of eight in
     * order: the same bits interpreted or compiled, whatever the caller. (The one sequential sum
     * it replaces cost ~3 us per 2048 values, one add's latency per value.)
     */
    public static double sumOfSquares(float[] x, int off, int n) {
        DoubleVector a0 = DoubleVector.zero(D4), a1 = DoubleVector.zero(D4);
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            DoubleVector v0 = (DoubleVector) FloatVector.fromArray(F4, x, off + i).convertShape(VectorOperators.F2D, D4, 0);
            DoubleVector v1 = (DoubleVector) FloatVector.fromArray(F4, x, off + i + 4).convertShape(VectorOperators.F2D, D4, 0);
            a0 = a0.add(v0.mul(v0));
            a1 = a1.add(v1.mul(v1));
        }
        DoubleVector a = a0.add(a1);
        double sum = (a.lane(0) + a.lane(1)) + (a.lane(2) + a.lane(3));
        for (; i < n; i++) sum += (double) x[off + i] * x[off + i];
        return sum;
    }

    /** {@code out[oOff + i] = (x[xOff + i] * scale) * weight[i]} for {@code i < n} (an RMS norm's second pass). */
    public static void scaleMul(float[] x, int xOff, float scale, float[] weight, float[] out, int oOff, int n) {
        int i = 0;
        for (; i + F.length() <= n; i += F.length()) {
            FloatVector.fromArray(F, x, xOff + i).mul(scale).mul(FloatVector.fromArray(F, weight, i)).intoArray(out, oOff + i);
        }
        for (; i < n; i++) out[oOff + i] = x[xOff + i] * scale * weight[i];
    }
}

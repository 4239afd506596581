package dev.herd.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VectorMathTest {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /** Distance in units in the last place between two finite non-negative floats. */
    private static long ulps(float a, float b) {
        return Math.abs((long) Float.floatToRawIntBits(a) - Float.floatToRawIntBits(b));
    }

    @Test
    void sumOfSquaresIsTheDoubleSumInItsFixedOrderAndScaleMulTheScalarProducts() {
        Random rnd = new Random(9);
        for (int trial = 0; trial < 500; trial++) {
            int n = 1 + rnd.nextInt(3000), off = rnd.nextInt(9);
            float[] x = new float[off + n], w = new float[n], out = new float[off + n];
            for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * Math.scalb(1.0, rnd.nextInt(20) - 10));
            for (int i = 0; i < n; i++) w[i] = (float) rnd.nextGaussian();
            // the documented order: eight partial sums (lane i mod 8), combined as ((0+4)+(1+5)) + ((2+6)+(3+7)), then the tail
            double[] part = new double[8];
            int body = n / 8 * 8;
            for (int i = 0; i < body; i++) part[i % 8] += (double) x[off + i] * x[off + i];
            double expected = ((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7]));
            for (int i = body; i < n; i++) expected += (double) x[off + i] * x[off + i];
            assertEquals(expected, VectorMath.sumOfSquares(x, off, n), "n " + n);

            float scale = (float) rnd.nextGaussian();
            VectorMath.scaleMul(x, off, scale, w, out, off, n);
            for (int i = 0; i < n; i++) assertEquals(x[off + i] * scale * w[i], out[off + i], "value " + i);
        }
    }

    @Test
    void expfIsWithinTwoUlpsOfTheCorrectlyRoundedValue() {
        Random rnd = new Random(7);
        long worst = 0;
        for (int i = 0; i < 2_000_000; i++) {
            float x = -87f + rnd.nextFloat() * (88.7f + 87f);
            float exact = (float) StrictMath.exp(x);
            worst = Math.max(worst, ulps(VectorMath.expf(x), exact));
        }
        assertTrue(worst <= 2, "worst error " + worst + " ulp");
        assertEquals(1f, VectorMath.expf(0f));
        assertEquals((float) Math.E, VectorMath.expf(1f), Math.ulp((float) Math.E));
    }

    @Test
    void expfHandlesTheEdges() {
        assertEquals(Float.POSITIVE_INFINITY, VectorMath.expf(89f));
        assertEquals(Float.POSITIVE_INFINITY, VectorMath.expf(Float.POSITIVE_INFINITY));
        assertEquals(0f, VectorMath.expf(-200f));
        assertEquals(0f, VectorMath.expf(Float.NEGATIVE_INFINITY));
        assertTrue(Float.isNaN(VectorMath.expf(Float.NaN)));
        // the largest finite result and a subnormal one
        assertTrue(ulps(VectorMath.expf(88.72f), (float) StrictMath.exp(88.72f)) <= 2);
        float tiny = VectorMath.expf(-100f);
        assertTrue(tiny > 0f && tiny < Float.MIN_NORMAL, "e^-100 is subnormal, got " + tiny);
        assertEquals((float) StrictMath.exp(-100f), tiny, 2 * Float.MIN_VALUE);
    }

    @Test
    void vectorAndScalarExpfGiveTheSameBits() {
        Random rnd = new Random(11);
        float[] x = new float[F.length() * 4096];
        for (int i = 0; i < x.length; i++) x[i] = (rnd.nextFloat() - 0.5f) * 240f;
        x[3] = Float.NaN;
        x[5] = Float.POSITIVE_INFINITY;
        x[6] = Float.NEGATIVE_INFINITY;
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i += F.length()) VectorMath.expf(FloatVector.fromArray(F, x, i)).intoArray(out, i);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToIntBits(VectorMath.expf(x[i])), Float.floatToIntBits(out[i]), "x = " + x[i]);
        }
    }

    @Test
    void siluMulAndExpShiftedDoNotDependOnWhereTheRangeStarts() {
        Random rnd = new Random(3);
        int n = 1000;
        float[] g = new float[n], u = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = (rnd.nextFloat() - 0.5f) * 40f;
            u[i] = rnd.nextFloat() - 0.5f;
        }
        float[] whole = g.clone(), split = g.clone();
        VectorMath.siluMul(whole, u, 0, n);
        VectorMath.siluMul(split, u, 0, 13);
        VectorMath.siluMul(split, u, 13, 517);
        VectorMath.siluMul(split, u, 517, n);
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToIntBits(whole[i]), Float.floatToIntBits(split[i]), "element " + i);
            double silu = g[i] / (1 + StrictMath.exp(-g[i])) * u[i];
            assertEquals(silu, whole[i], 1e-6 * Math.abs(silu) + 1e-30, "element " + i);
        }
        float[] e = g.clone();
        VectorMath.expShifted(e, 999, 3f);
        for (int i = 0; i < 999; i++) assertEquals(Float.floatToIntBits(VectorMath.expf(g[i] - 3f)), Float.floatToIntBits(e[i]));
        assertEquals(g[999], e[999]);
    }
}

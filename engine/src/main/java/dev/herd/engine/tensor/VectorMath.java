package dev.herd.engine.tensor;

import jdk.incubator.vector.FloatVector;

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
}

package dev.herd.engine.sampling;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Log-probabilities under a logits row, computed in double for stability. */
public final class LogProbs {
    private LogProbs() {}

    /** {@code log(sum(exp(logits)))} over {@code [off, off + n)}. */
    public static double logSumExp(float[] logits, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[off + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += StrictMath.exp((double) logits[off + i] - max);
        return max + StrictMath.log(sum);
    }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /**
     * Index of the largest value, the lowest index on ties; NaNs never win (a NaN first value
     * gives 0). Two vector passes, the largest value then its first index: greedy decoding runs
     * this over the whole vocabulary every token.
     */
    public static int argmax(float[] x, int off, int n) {
        float best = x[off];
        int i = 0;
        if (n >= F.length()) {
            FloatVector m = FloatVector.broadcast(F, best);
            for (; i + F.length() <= n; i += F.length()) {
                FloatVector v = FloatVector.fromArray(F, x, off + i);
                m = m.blend(v, v.compare(VectorOperators.GT, m));
            }
            for (int lane = 0; lane < F.length(); lane++) if (m.lane(lane) > best) best = m.lane(lane);
        }
        for (; i < n; i++) if (x[off + i] > best) best = x[off + i];
        if (best != best) return 0; // the first value is NaN and nothing compared greater
        for (int j = 0; j < n; j++) if (x[off + j] == best) return j;
        return 0;
    }

    /** The {@code k} highest-logit token ids, best first (lowest id first on ties). */
    public static int[] top(float[] logits, int off, int n, int k) {
        k = Math.min(k, n);
        int[] best = new int[k];
        int size = 0;
        for (int i = 0; i < n; i++) {
            float v = logits[off + i];
            if (size == k && v <= logits[off + best[k - 1]]) continue;
            int pos = Math.min(size, k - 1);
            while (pos > 0 && v > logits[off + best[pos - 1]]) {
                best[pos] = best[pos - 1];
                pos--;
            }
            best[pos] = i;
            if (size < k) size++;
        }
        return best;
    }
}

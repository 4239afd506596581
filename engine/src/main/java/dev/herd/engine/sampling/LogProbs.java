package dev.herd.engine.sampling;

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

    /** Index of the largest value, the lowest index on ties. */
    public static int argmax(float[] x, int off, int n) {
        int best = 0;
        float bestValue = x[off];
        for (int i = 1; i < n; i++) {
            if (x[off + i] > bestValue) {
                bestValue = x[off + i];
                best = i;
            }
        }
        return best;
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

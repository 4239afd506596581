package dev.herd.engine.sampling;

import dev.herd.engine.SamplingParams;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks next tokens for one sequence, in llama.cpp's default order: repetition / frequency /
 * presence penalties over the recent tokens, then top-k, top-p, min-p, temperature, and a draw
 * from the sequence's own generator seeded by the request ({@link SplittableRandom}: the same
 * seed gives the same draws on every JVM). Greedy ({@code temperature == 0}) takes the argmax of
 * the penalised logits, the lowest id on ties. Not thread-safe; one per sequence.
 */
public final class Sampler {

    private final SamplingParams p;
    private final SplittableRandom random;
    private final TokenHistory history;
    /** Vocabulary-sized scratch shared by the samplers of one thread (they run one at a time). */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        float[] work = new float[0];
        long[] order = new long[0];
    }

    private float[] work;
    private long[] order;

    public Sampler(SamplingParams params, int[] promptTokens) {
        this.p = params;
        this.random = new SplittableRandom(params.seed());
        this.history = new TokenHistory(params.penaltyLastN());
        for (int t : promptTokens) history.add(t);
    }

    /** Records a token chosen (or forced) at the end of the sequence. */
    public void accept(int token) {
        history.add(token);
    }

    /** The next token for logits {@code [off, off + n)}. Does not {@link #accept} it. */
    public int sample(float[] logits, int off, int n) {
        if (p.greedy() && !penalised()) return LogProbs.argmax(logits, off, n); // nothing to change: no copy
        Scratch scratch = SCRATCH.get();
        if (scratch.work.length < n) scratch.work = new float[n];
        if (scratch.order.length < n) scratch.order = new long[n];
        work = scratch.work;
        order = scratch.order;
        float[] l = work;
        System.arraycopy(logits, off, l, 0, n);
        applyPenalties(l, n);
        if (p.greedy()) return LogProbs.argmax(l, 0, n);
        return draw(l, n);
    }

    private boolean penalised() {
        return p.repetitionPenalty() != 1f || p.frequencyPenalty() != 0f || p.presencePenalty() != 0f;
    }

    private void applyPenalties(float[] l, int n) {
        if (!penalised()) return;
        boolean repeat = p.repetitionPenalty() != 1f, freq = p.frequencyPenalty() != 0f, presence = p.presencePenalty() != 0f;
        history.forEachCount((token, count) -> {
            if (token < 0 || token >= n) return;
            float v = l[token];
            if (repeat) v = v <= 0 ? v * p.repetitionPenalty() : v / p.repetitionPenalty();
            v -= count * p.frequencyPenalty() + (count > 0 ? p.presencePenalty() : 0f);
            l[token] = v;
        });
    }

    /** top-k → top-p → min-p → temperature → softmax → draw, over candidates sorted by logit. */
    private int draw(float[] l, int n) {
        int kept = sortDescending(l, n, p.topK() > 0 ? Math.min(p.topK(), n) : n);
        // Candidates are order[0..kept) (index in the low 32 bits), logits descending.
        if (p.topP() < 1f) {
            double max = logit(l, 0);
            double sum = 0;
            for (int i = 0; i < kept; i++) sum += StrictMath.exp(logit(l, i) - max);
            double cumulative = 0;
            for (int i = 0; i < kept; i++) {
                cumulative += StrictMath.exp(logit(l, i) - max) / sum;
                if (cumulative >= p.topP()) {
                    kept = i + 1;
                    break;
                }
            }
        }
        if (p.minP() > 0f) {
            double threshold = logit(l, 0) + StrictMath.log(p.minP());
            int i = 1;
            while (i < kept && logit(l, i) >= threshold) i++;
            kept = i;
        }
        double max = logit(l, 0) / p.temperature();
        double sum = 0;
        double[] probs = new double[kept];
        for (int i = 0; i < kept; i++) {
            probs[i] = StrictMath.exp(logit(l, i) / p.temperature() - max);
            sum += probs[i];
        }
        double u = random.nextDouble() * sum;
        double acc = 0;
        for (int i = 0; i < kept; i++) {
            acc += probs[i];
            if (u < acc) return index(i);
        }
        return index(kept - 1);
    }

    private float logit(float[] l, int rank) { return l[index(rank)]; }

    private int index(int rank) { return (int) order[rank]; }

    /**
     * Orders the {@code k} best tokens first (logit descending, lower id first on ties) in
     * {@code order}; returns {@code k}. Keys pack an order-preserving transform of the logit above
     * the token id so one primitive sort does it.
     */
    private int sortDescending(float[] l, int n, int k) {
        for (int i = 0; i < n; i++) {
            int bits = Float.floatToIntBits(l[i]);
            int key = bits >= 0 ? bits : bits ^ 0x7fffffff; // monotone in the float value
            // Descending logit, ascending id: negate the key (as unsigned-safe long) and keep id low.
            order[i] = ((long) (~key) << 32) | (i & 0xffffffffL);
        }
        if (k < n / 8) {
            partialSort(order, n, k);
        } else {
            Arrays.sort(order, 0, n);
        }
        return k;
    }

    /** Puts the k smallest keys first in sorted order (selection by a bounded max-heap). */
    private static void partialSort(long[] a, int n, int k) {
        long[] heap = new long[k];
        int size = 0;
        for (int i = 0; i < n; i++) {
            long v = a[i];
            if (size < k) {
                heap[size] = v;
                siftUp(heap, size++);
            } else if (v < heap[0]) {
                heap[0] = v;
                siftDown(heap, k);
            }
        }
        Arrays.sort(heap, 0, size);
        System.arraycopy(heap, 0, a, 0, size);
    }

    private static void siftUp(long[] h, int i) {
        while (i > 0) {
            int parent = (i - 1) >> 1;
            if (h[parent] >= h[i]) break;
            long t = h[parent]; h[parent] = h[i]; h[i] = t;
            i = parent;
        }
    }

    private static void siftDown(long[] h, int size) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1, r = l + 1, largest = i;
            if (l < size && h[l] > h[largest]) largest = l;
            if (r < size && h[r] > h[largest]) largest = r;
            if (largest == i) return;
            long t = h[largest]; h[largest] = h[i]; h[i] = t;
            i = largest;
        }
    }
}

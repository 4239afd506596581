package dev.herd.engine.sampling;

import dev.herd.engine.SamplingParams;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class SamplerTest {

    static final float[] LOGITS = {1f, 5f, 3f, 5f, -2f, 0f, 4f, 2f};

    static SamplingParams sampled(float temperature) {
        return SamplingParams.GREEDY.withTemperature(temperature);
    }

    @Test
    void greedyTakesTheArgmaxLowestIdOnTies() {
        assertEquals(1, new Sampler(SamplingParams.GREEDY, new int[0]).sample(LOGITS, 0, LOGITS.length));
    }

    @Test
    void vectorArgmaxMatchesTheScalarDefinition() {
        java.util.Random rnd = new java.util.Random(5);
        for (int trial = 0; trial < 3000; trial++) {
            int n = 1 + rnd.nextInt(trial < 2000 ? 70 : 40000), off = rnd.nextInt(5);
            float[] x = new float[off + n];
            for (int i = 0; i < x.length; i++) x[i] = rnd.nextInt(4) == 0 ? rnd.nextInt(3) : (float) rnd.nextGaussian(); // many ties
            if (trial % 7 == 0) x[off + rnd.nextInt(n)] = Float.NaN;
            if (trial % 11 == 0) x[off] = Float.NaN;
            if (trial % 13 == 0) { x[off + rnd.nextInt(n)] = -0f; x[off + rnd.nextInt(n)] = 0f; }
            int best = 0;
            for (int i = 1; i < n; i++) if (x[off + i] > x[off + best]) best = i;
            assertEquals(best, LogProbs.argmax(x, off, n), "trial " + trial + ", n " + n);
        }
    }

    @Test
    void sameSeedSameTokensDifferentSeedDifferentTokens() {
        SamplingParams p = sampled(1.5f).withSeed(42);
        int[] a = draw(p, 200), b = draw(p, 200), c = draw(p.withSeed(43), 200);
        assertArrayEquals(a, b);
        assertFalse(java.util.Arrays.equals(a, c));
    }

    static int[] draw(SamplingParams p, int n) {
        Sampler s = new Sampler(p, new int[0]);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = s.sample(LOGITS, 0, LOGITS.length);
        return out;
    }

    @Test
    void topKKeepsOnlyTheKBest() {
        Set<Integer> seen = new HashSet<>();
        for (int t : draw(sampled(5f).withTopK(3).withSeed(1), 2000)) seen.add(t);
        assertEquals(Set.of(1, 3, 6), seen);
    }

    @Test
    void topPKeepsTheSmallestNucleus() {
        // p(1) = p(3) ≈ 0.37 each after softmax at T=1: a nucleus of 0.7 needs exactly those two.
        Set<Integer> seen = new HashSet<>();
        for (int t : draw(sampled(1f).withTopP(0.7f).withSeed(2), 2000)) seen.add(t);
        assertEquals(Set.of(1, 3), seen);
    }

    @Test
    void minPDropsTokensBelowAFractionOfTheBest() {
        // min_p 0.3: keep logits >= 5 + ln 0.3 ≈ 3.8 -> ids 1, 3, 6.
        Set<Integer> seen = new HashSet<>();
        for (int t : draw(sampled(1f).withMinP(0.3f).withSeed(3), 2000)) seen.add(t);
        assertEquals(Set.of(1, 3, 6), seen);
    }

    @Test
    void temperatureSharpensAndFlattens() {
        int[] cold = draw(sampled(0.05f).withSeed(4), 500), hot = draw(sampled(100f).withSeed(4), 2000);
        for (int t : cold) assertTrue(t == 1 || t == 3, "near-greedy at low temperature");
        Set<Integer> seen = new HashSet<>();
        for (int t : hot) seen.add(t);
        assertEquals(8, seen.size(), "every token appears at high temperature");
    }

    @Test
    void penaltiesPushSeenTokensDown() {
        // Token 1 seen twice: repetition 2 halves its logit (5 -> 2.5), then frequency/presence subtract more.
        SamplingParams p = SamplingParams.GREEDY.withPenalties(2f, 0f, 0f, 64);
        assertEquals(3, new Sampler(p, new int[]{1, 1}).sample(LOGITS, 0, LOGITS.length));
        SamplingParams freq = SamplingParams.GREEDY.withPenalties(1f, 0.6f, 0f, 64); // 5 - 2*0.6 = 3.8 < 4
        assertEquals(3, new Sampler(freq, new int[]{1, 1}).sample(LOGITS, 0, LOGITS.length));
        SamplingParams presence = SamplingParams.GREEDY.withPenalties(1f, 0f, 1.5f, 64); // 1 and 3 both seen: 6 wins
        assertEquals(6, new Sampler(presence, new int[]{1, 3}).sample(LOGITS, 0, LOGITS.length));
        // A negative logit is multiplied, not divided.
        float[] negative = {-1f, -1.5f};
        assertEquals(1, new Sampler(SamplingParams.GREEDY.withPenalties(2f, 0f, 0f, 64), new int[]{0}).sample(negative, 0, 2));
    }

    @Test
    void penaltiesLookOnlyAtTheLastNTokens() {
        SamplingParams p = SamplingParams.GREEDY.withPenalties(10f, 0f, 0f, 2);
        Sampler s = new Sampler(p, new int[]{1, 3});
        assertEquals(6, s.sample(LOGITS, 0, LOGITS.length));
        s.accept(0);
        s.accept(0); // 1 and 3 fall out of the window of 2
        assertEquals(1, s.sample(LOGITS, 0, LOGITS.length));
    }

    @Test
    void logProbsAreNormalised() {
        double lse = LogProbs.logSumExp(LOGITS, 0, LOGITS.length);
        double total = 0;
        for (float l : LOGITS) total += Math.exp(l - lse);
        assertEquals(1.0, total, 1e-12);
        assertArrayEquals(new int[]{1, 3, 6}, LogProbs.top(LOGITS, 0, LOGITS.length, 3));
    }

    @Test
    void invalidParametersAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.GREEDY.withTemperature(-1f));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.GREEDY.withTopP(0f));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.GREEDY.withMinP(1.5f));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.GREEDY.withTopK(-1));
    }
}

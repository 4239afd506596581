package dev.herd.engine.runtime;

import dev.herd.engine.ContextOverflowPolicy;
import dev.herd.engine.Engine;
import dev.herd.engine.EngineOptions;
import dev.herd.engine.FinishReason;
import dev.herd.engine.GenerationRequest;
import dev.herd.engine.GenerationResult;
import dev.herd.engine.Prompt;
import dev.herd.engine.SamplingParams;
import dev.herd.engine.ScoreRequest;
import dev.herd.engine.ScoreResult;
import dev.herd.engine.TokenLogprob;
import dev.herd.engine.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** What a generation or score request returns: stop conditions, limits, logprobs, errors, scoring. */
class GenerationBehaviourTest {

    static Engine engine;
    static final String PROMPT = "The quick brown fox jumps over the lazy dog.";

    @BeforeAll
    static void load() throws Exception {
        engine = Engine.load(EngineOptions.of(Fixtures.path("text/tiny/tiny-f32.gguf")).withThreads(2).withContextLength(64));
    }

    @AfterAll
    static void close() { engine.close(); }

    static GenerationResult run(GenerationRequest r) throws Exception { return engine.generate(r).get(); }

    static GenerationRequest greedy(int n) {
        return GenerationRequest.greedy(new Prompt.Text(PROMPT), n).withIgnoreEos(true);
    }

    @Test
    void maxTokensEndsWithLength() throws Exception {
        GenerationResult r = run(greedy(10));
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertEquals(10, r.ids().length);
        assertEquals(engine.tokenizer().decode(r.ids()), r.text());
        assertEquals(engine.tokenizer().encode(PROMPT, true, false).length, r.promptTokens());
        assertNull(r.error());
    }

    @Test
    void stopTokenEndsGenerationAndIsReported() throws Exception {
        int[] full = run(greedy(12)).ids();
        GenerationResult r = run(greedy(12).withStop(List.of(), new int[]{full[4]}));
        int first = 0;
        while (full[first] != full[4]) first++;
        assertEquals(FinishReason.STOP, r.finishReason());
        assertArrayEquals(java.util.Arrays.copyOf(full, first + 1), r.ids());
    }

    @Test
    void stopStringCutsTheText() throws Exception {
        GenerationResult full = run(greedy(16));
        String text = full.text();
        String stop = text.substring(text.length() / 2, text.length() / 2 + 2);
        GenerationResult r = run(greedy(16).withStop(List.of(stop), null));
        assertEquals(FinishReason.STOP, r.finishReason());
        assertEquals(text.substring(0, text.indexOf(stop)), r.text());
    }

    @Test
    void endOfGenerationTokensStopUnlessIgnored() throws Exception {
        // Find (deterministically) a prompt whose greedy continuation reaches an end-of-generation token.
        java.util.Random random = new java.util.Random(3);
        for (int attempt = 0; attempt < 200; attempt++) {
            int[] prompt = new int[4];
            for (int i = 0; i < prompt.length; i++) prompt[i] = random.nextInt(1756);
            int[] through = run(GenerationRequest.greedy(new Prompt.Tokens(prompt), 40).withIgnoreEos(true)).ids();
            int eog = -1;
            for (int i = 0; i < through.length && eog < 0; i++) if (engine.tokenizer().isEndOfGeneration(through[i])) eog = i;
            if (eog < 0) continue;
            GenerationResult stopped = run(GenerationRequest.greedy(new Prompt.Tokens(prompt), 40));
            assertEquals(FinishReason.STOP, stopped.finishReason());
            assertArrayEquals(java.util.Arrays.copyOf(through, eog + 1), stopped.ids(), "stops at the end-of-generation token, which is reported");
            assertEquals(engine.tokenizer().decode(java.util.Arrays.copyOf(through, eog)), stopped.text(), "its text is not part of the output");
            return;
        }
        fail("no prompt reached an end-of-generation token");
    }

    @Test
    void logprobsAreReportedPerToken() throws Exception {
        GenerationResult r = run(greedy(5).withLogprobs(3));
        assertEquals(5, r.logprobs().size());
        for (int i = 0; i < 5; i++) {
            TokenLogprob lp = r.logprobs().get(i);
            assertEquals(r.ids()[i], lp.token());
            assertEquals(3, lp.top().size());
            assertEquals(lp.token(), lp.top().get(0).token(), "greedy picks the top token");
            assertEquals(lp.logprob(), lp.top().get(0).logprob());
            assertTrue(lp.logprob() < 0);
        }
    }

    @Test
    void scoringTheGreedyContinuationAgreesWithGeneration() throws Exception {
        GenerationResult g = run(greedy(6).withLogprobs(1));
        ScoreResult s = engine.score(new ScoreRequest(PROMPT, g.text())).get();
        assertNull(s.error());
        int[] continuation = engine.tokenizer().encode(g.text(), false, false);
        assertEquals(continuation.length, s.nTokens());
        if (java.util.Arrays.equals(continuation, g.ids())) {
            assertTrue(s.isGreedy());
            double sum = 0;
            for (TokenLogprob lp : g.logprobs()) sum += lp.logprob();
            assertEquals(sum, s.logprob(), 1e-4);
        }
        ScoreResult other = engine.score(new ScoreRequest(PROMPT, " zebra zebra")).get();
        assertFalse(other.isGreedy());
        assertTrue(other.logprob() < 0);
        assertEquals(other.nTokens(), other.tokenLogprobs().length);
    }

    @Test
    void samplingIsReproducibleBySeed() throws Exception {
        SamplingParams p = SamplingParams.GREEDY.withTemperature(1f).withTopK(50).withSeed(7);
        int[] a = run(greedy(12).withSampling(p)).ids(), b = run(greedy(12).withSampling(p)).ids();
        assertArrayEquals(a, b);
    }

    @Test
    void badRequestsFailOnTheirOwn() throws Exception {
        assertEquals(FinishReason.ERROR, run(GenerationRequest.greedy(new Prompt.Text(""), 4)).finishReason());
        assertTrue(run(GenerationRequest.greedy(new Prompt.Tokens(new int[]{99999}), 4)).error().contains("outside the vocabulary"));
        String longText = "word ".repeat(200);
        GenerationResult tooLong = run(GenerationRequest.greedy(new Prompt.Text(longText), 4));
        assertEquals(FinishReason.ERROR, tooLong.finishReason());
        assertTrue(tooLong.error().contains("context window holds 64"), tooLong.error());
        GenerationResult truncated = run(GenerationRequest.greedy(new Prompt.Text(longText), 4).withOverflow(ContextOverflowPolicy.TRUNCATE_LEFT));
        assertNull(truncated.error());
        assertEquals(60, truncated.promptTokens());
        ScoreResult emptyContinuation = engine.score(new ScoreRequest(PROMPT, "")).get();
        assertNotNull(emptyContinuation.error());
        GenerationResult images = run(GenerationRequest.greedy(new Prompt.Text("x", true, false, List.of(new byte[]{1, 2})), 4));
        assertTrue(images.error().contains("no vision projector"), images.error());
    }

    @Test
    void generationStopsAtTheContextWindow() throws Exception {
        GenerationResult r = run(greedy(1000));
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertEquals(64, r.promptTokens() + r.completionTokens());
    }
}

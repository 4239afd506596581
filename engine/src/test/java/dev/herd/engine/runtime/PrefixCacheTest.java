package dev.herd.engine.runtime;

import dev.herd.engine.Engine;
import dev.herd.engine.EngineOptions;
import dev.herd.engine.GenerationRequest;
import dev.herd.engine.GenerationResult;
import dev.herd.engine.KvCacheType;
import dev.herd.engine.Prompt;
import dev.herd.engine.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.*;

/** Requests sharing a prompt prefix compute it once, and get exactly what they would get alone. */
class PrefixCacheTest {

    static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void sharedContextIsComputedOnceAndResultsAreUnchanged() throws Exception {
        Random r = new Random(11);
        var model = Fixtures.path("text/small/small-f32.gguf");
        int[] context = BatchInvarianceTest.randomIds(r, 70, 1771);
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < 6; i++) prompts.add(concat(context, BatchInvarianceTest.randomIds(r, 1 + r.nextInt(9), 1771)));

        List<float[]> fresh = new ArrayList<>();
        List<int[]> freshIds = new ArrayList<>();
        for (int[] p : prompts) {
            try (BatchEngine engine = (BatchEngine) Engine.load(EngineOptions.of(model).withThreads(2))) {
                fresh.add(BatchInvarianceTest.logitsOf(engine, p));
                freshIds.add(engine.generate(GenerationRequest.greedy(new Prompt.Tokens(p), 6).withIgnoreEos(true)).get().ids());
            }
        }
        try (BatchEngine engine = (BatchEngine) Engine.load(EngineOptions.of(model).withThreads(2).withMaxBatchTokens(32))) {
            List<CompletableFuture<GenerationResult>> gens = new ArrayList<>();
            for (int[] p : prompts) gens.add(engine.generate(GenerationRequest.greedy(new Prompt.Tokens(p), 6).withIgnoreEos(true)));
            for (int i = 0; i < prompts.size(); i++) assertArrayEquals(freshIds.get(i), gens.get(i).get().ids(), "generation " + i);
            long reused = engine.prefixCacheReusedTokens();
            // 70 shared tokens = 4 full blocks; all but the first request should reuse them.
            assertTrue(reused >= 5 * 64, "expected the shared context to be reused, reused " + reused + " positions");
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(fresh.get(i), BatchInvarianceTest.logitsOf(engine, prompts.get(i)), "logits of prompt " + i);
            }
        }
    }

    @Test
    void evictionUnderATightBudgetStaysCorrect() throws Exception {
        Random r = new Random(5);
        var model = Fixtures.path("text/tiny/tiny-f32.gguf");
        long blockBytes = KvCache.bytesPerBlock(4, 32, KvCacheType.F32);
        try (BatchEngine tight = (BatchEngine) Engine.load(EngineOptions.of(model).withThreads(2).withKvCacheBytes(blockBytes * 12));
             BatchEngine roomy = (BatchEngine) Engine.load(EngineOptions.of(model).withThreads(2))) {
            for (int i = 0; i < 20; i++) {
                int[] p = BatchInvarianceTest.randomIds(r, 20 + r.nextInt(120), 1771);
                if (i % 3 == 0 && i > 0) p = concat(Arrays.copyOf(p, 40), BatchInvarianceTest.randomIds(r, 5, 1771));
                assertArrayEquals(BatchInvarianceTest.logitsOf(roomy, p), BatchInvarianceTest.logitsOf(tight, p), "prompt " + i);
            }
        }
    }
}

package dev.herd.engine.runtime;

import dev.herd.engine.Engine;
import dev.herd.engine.EngineOptions;
import dev.herd.engine.KvCacheType;
import dev.herd.engine.GenerationRequest;
import dev.herd.engine.GenerationResult;
import dev.herd.engine.Prompt;
import dev.herd.engine.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * A sequence's logits are bit-identical whether it runs alone or batched with others, at any
 * position in the batch and with any prefill chunking: what makes results reproducible under
 * Spark retries and repartitioning.
 */
class BatchInvarianceTest {

    static float[] logitsOf(BatchEngine engine, int[] ids) throws Exception {
        int vocab = engine.modelInfo().vocabSize();
        float[] out = new float[ids.length * vocab];
        engine.logits(ids, (pos, l, off, v) -> System.arraycopy(l, off, out, pos * v, v)).get();
        return out;
    }

    static int[] randomIds(Random r, int n, int vocab) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = r.nextInt(vocab);
        return ids;
    }

    @ParameterizedTest
    @CsvSource({"text/small/small-f32.gguf, f32", "text/tiny/tiny-f32.gguf, f32", "text/tiny/tiny-f32.gguf, f16"})
    void logitsDoNotDependOnTheBatch(String model, String kvCacheType) throws Exception {
        Random r = new Random(7);
        EngineOptions options = EngineOptions.of(Fixtures.path(model)).withThreads(2).withKvCacheType(KvCacheType.parse(kvCacheType));
        try (BatchEngine alone = (BatchEngine) Engine.load(options);
             BatchEngine busy = (BatchEngine) Engine.load(options.withMaxBatchTokens(7))) {
            int vocab = alone.modelInfo().vocabSize();
            int[] probe = randomIds(r, 29, vocab);
            float[] reference = logitsOf(alone, probe);
            for (int round = 0; round < 3; round++) {
                // Other sequences already decoding or prefilling when the probe arrives, in varying numbers.
                List<CompletableFuture<GenerationResult>> others = new ArrayList<>();
                for (int i = 0; i <= round * 2; i++) {
                    others.add(busy.generate(GenerationRequest.greedy(new Prompt.Tokens(randomIds(r, 3 + r.nextInt(20), vocab)), 5 + r.nextInt(10)).withIgnoreEos(true)));
                }
                float[] batched = logitsOf(busy, probe);
                assertArrayEquals(reference, batched, "round " + round + ": logits changed with the batch");
                for (CompletableFuture<GenerationResult> f : others) f.get();
            }
        }
    }
}

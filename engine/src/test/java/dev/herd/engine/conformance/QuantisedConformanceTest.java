package dev.herd.engine.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herd.engine.Engine;
import dev.herd.engine.EngineOptions;
import dev.herd.engine.runtime.BatchEngine;
import dev.herd.engine.testing.Fixtures;
import dev.herd.engine.testing.Goldens;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every quantised variant of the small model against llama.cpp on the same file. Bounds are the
 * manifest's {@code recommended_for_a_second_implementation} per type (they allow exact float
 * maths; herd rounds activations as llama.cpp does for the 8-bit and K types, so it lands far
 * closer). Argmax is compared where llama.cpp's top-1/top-2 margin exceeds twice the bound, the
 * greedy continuation up to the first step where it does not, and expert choices everywhere
 * (every routing margin is far above the quantisation error).
 */
class QuantisedConformanceTest {

    static double bound(JsonNode manifest, String variant) {
        String text = manifest.get("tolerances").get("recommended_for_a_second_implementation")
                .get("small " + variant + ": max |logit diff| vs the llama.cpp golden of the same file").asText();
        Matcher m = Pattern.compile("<=\\s*([0-9.]+)").matcher(text);
        assertTrue(m.find(), "no bound in: " + text);
        return Double.parseDouble(m.group(1));
    }

    static double margin(float[] logits, int off, int n) {
        float best = Float.NEGATIVE_INFINITY, second = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float v = logits[off + i];
            if (v > best) { second = best; best = v; } else if (v > second) second = v;
        }
        return best - second;
    }

    @ParameterizedTest
    @ValueSource(strings = {"f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k_m", "q4_k_m", "q5_k_m", "q6_k"})
    void variantMatchesLlamaCpp(String variant) throws Exception {
        JsonNode manifest = Goldens.json(Fixtures.path("manifest.json"));
        double bound = bound(manifest, variant);
        String dir = "text/small/goldens/" + variant;
        JsonNode result = Goldens.json(Fixtures.path(dir + "/result.json"));
        try (BatchEngine engine = (BatchEngine) Engine.load(EngineOptions.of(Fixtures.path("text/small/small-" + variant + ".gguf")).withThreads(2))) {
            int vocab = engine.modelInfo().vocabSize();
            double worst = 0;
            for (int p = 0; p < 3; p++) {
                JsonNode prompt = result.get("prompts").get(p);
                String name = prompt.get("name").asText();
                int[] ids = Goldens.ints(manifest.get("prompts").get(p).get("ids"));
                TextConformanceTest.Run run = TextConformanceTest.run(engine, ids);
                float[] gold = Goldens.f32(Fixtures.path(dir + "/" + prompt.get("logits_file").asText()));
                double diff = Goldens.maxAbsDiff(run.logits(), 0, gold, 0, gold.length);
                worst = Math.max(worst, diff);
                assertTrue(diff <= bound, variant + " " + name + ": max |dlogit| " + diff + " > " + bound);
                for (int i = 0; i < ids.length; i++) {
                    if (margin(gold, i * vocab, vocab) > 2 * bound) {
                        assertEquals(Goldens.argmax(gold, i * vocab, vocab), Goldens.argmax(run.logits(), i * vocab, vocab), variant + " " + name + " argmax at " + i);
                    }
                }
                JsonNode chosen = result.get("moe_expert_choice").get("per_prompt").get(name);
                chosen.fieldNames().forEachRemaining(layer -> {
                    int[] expected = new int[chosen.get(layer).size()];
                    for (int i = 0; i < expected.length; i++) expected[i] = chosen.get(layer).get(i).get(0).asInt();
                    assertArrayEquals(expected, run.experts().get(layer), variant + " " + name + " experts of layer " + layer);
                });
                int[] goldGreedy = Goldens.ints(prompt.get("greedy_ids"));
                int[] ours = TextConformanceTest.greedy(engine, ids, goldGreedy.length);
                JsonNode top5 = prompt.get("greedy_top5");
                for (int i = 0; i < goldGreedy.length; i++) {
                    double stepMargin = top5.get(i).get(0).get(1).asDouble() - top5.get(i).get(1).get(1).asDouble();
                    if (stepMargin <= 2 * bound) break;
                    assertEquals(goldGreedy[i], ours[i], variant + " " + name + " greedy token " + i);
                }
            }
            System.out.printf("small-%s: max |dlogit| = %.4g (bound %.3g)%n", variant, worst, bound);
        }
    }
}

package dev.herd.engine.demo;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herd.engine.ChatMessage;
import dev.herd.engine.ContextOverflowPolicy;
import dev.herd.engine.Engine;
import dev.herd.engine.EngineOptions;
import dev.herd.engine.GenerationRequest;
import dev.herd.engine.GenerationResult;
import dev.herd.engine.Prompt;
import dev.herd.engine.ScoreRequest;
import dev.herd.engine.ScoreResult;
import dev.herd.engine.testing.Goldens;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The bundled demo model (models/demo, trained with transformers) on its held-out sample: herd's
 * greedy answers are the training framework's token for token, its multiple-choice
 * log-likelihoods agree with transformers', and the answers are right where transformers' are.
 */
class DemoModelTest {

    static final Path DEMO = locate();
    static Engine engine;
    static List<JsonNode> reference = new ArrayList<>();

    static Path locate() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path p = dir.resolve("models/demo");
            if (Files.isDirectory(p)) return p;
        }
        throw new IllegalStateException("models/demo not found above " + Path.of("").toAbsolutePath());
    }

    @BeforeAll
    static void load() throws Exception {
        engine = Engine.load(EngineOptions.of(DEMO.resolve("herd-demo-text-f16.gguf"))
                .withMmproj(DEMO.resolve("herd-demo-mmproj-f16.gguf")).withThreads(2));
        for (String line : Files.readAllLines(DEMO.resolve("sample/reference.jsonl"))) reference.add(Goldens.JSON.readTree(line));
    }

    @AfterAll
    static void close() {
        if (engine != null) engine.close();
    }

    static Prompt.Chat question(String id, String question) throws Exception {
        byte[] image = Files.readAllBytes(DEMO.resolve("sample/images/" + id + ".png"));
        return new Prompt.Chat(List.of(new ChatMessage("user", List.of(new ChatMessage.Content.Image(image), new ChatMessage.Content.Text(question)))));
    }

    @Test
    void greedyAnswersAreTheTrainingFrameworksTokenForToken() throws Exception {
        List<JsonNode> items = reference.stream().filter(r -> r.get("mode").asText().equals("generate")).toList();
        List<CompletableFuture<GenerationResult>> results = new ArrayList<>();
        for (JsonNode r : items) results.add(engine.generate(GenerationRequest.greedy(question(r.get("id").asText(), r.get("question").asText()), 40)));
        int agree = 0, correct = 0;
        for (int i = 0; i < items.size(); i++) {
            JsonNode r = items.get(i);
            GenerationResult g = results.get(i).get();
            assertNull(g.error(), g.error());
            assertEquals(r.get("prompt_ids").size(), g.promptTokens(), r.get("id").asText() + ": prompt length (image layout and template)");
            if (java.util.Arrays.equals(Goldens.ints(r.get("generated_ids")), g.ids())) agree++;
            if (g.text().equals(r.get("expected").asText())) correct++;
        }
        System.out.printf("demo sample: %d/%d greedy answers identical to transformers, %d correct%n", agree, items.size(), correct);
        assertEquals(items.size(), agree, "every greedy answer identical to transformers' (all margins >= 0.01 here)");
        long referenceCorrect = items.stream().filter(r -> r.get("correct").asBoolean()).count();
        assertEquals(referenceCorrect, correct);
    }

    @Test
    void multipleChoiceLogLikelihoodsAgreeWithTransformers() throws Exception {
        double worst = 0;
        int picked = 0, items = 0;
        for (JsonNode r : reference) {
            if (!r.get("mode").asText().equals("score")) continue;
            items++;
            List<CompletableFuture<ScoreResult>> scores = new ArrayList<>();
            for (JsonNode choice : r.get("choice_texts")) {
                scores.add(engine.score(new ScoreRequest(question(r.get("id").asText(), r.get("question").asText()), choice.asText(),
                        true, false, ContextOverflowPolicy.ERROR)));
            }
            int best = -1;
            double bestLp = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < scores.size(); c++) {
                ScoreResult s = scores.get(c).get();
                assertNull(s.error(), s.error());
                JsonNode expected = r.get("choices").get(c);
                assertEquals(expected.get("choice_ids").size(), s.nTokens(), "choice tokens + end of turn");
                worst = Math.max(worst, Math.abs(s.logprob() - expected.get("logprob").asDouble()));
                if (s.logprob() > bestLp) {
                    bestLp = s.logprob();
                    best = c;
                }
            }
            assertEquals(r.get("chosen_index").asInt(), best, r.get("id").asText() + " " + r.get("question").asText());
            if (best == r.get("answer_index").asInt()) picked++;
        }
        System.out.printf("demo sample: %d/%d multiple-choice items right; max |d logprob| vs transformers = %.3g%n", picked, items, worst);
        // Summed over a few tokens of F16 weights with float activations: summation order only.
        assertTrue(worst < 1e-3, "log-likelihoods differ by " + worst);
    }
}

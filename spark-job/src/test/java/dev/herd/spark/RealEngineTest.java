package dev.herd.spark;

import dev.herd.engine.ContextOverflowPolicy;
import dev.herd.engine.Engine;
import dev.herd.engine.EngineOptions;
import dev.herd.engine.GenerationRequest;
import dev.herd.engine.GenerationResult;
import dev.herd.engine.Prompt;
import dev.herd.engine.SamplingParams;
import dev.herd.engine.ScoreRequest;
import dev.herd.engine.ScoreResult;
import dev.herd.engine.testing.Fixtures;
import dev.herd.spark.run.Summary;
import dev.herd.spark.testing.Jobs;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/** The job on herd's real engine and the tiny reference model (4 layers, random weights). */
class RealEngineTest {
    @TempDir Path tmp;
    Path model;

    @BeforeEach
    void setUp() {
        model = Fixtures.path("text/tiny/tiny-f32.gguf");
    }

    /** 30 prompts: p3 has none, p11 an empty one, p17 one longer than the 48-token context. */
    private Path prompts() throws Exception {
        StringBuilder jsonl = new StringBuilder();
        for (int i = 0; i < 30; i++) {
            String prompt = switch (i) {
                case 3 -> "null";
                case 11 -> "\"\"";
                case 17 -> "\"" + "a long prompt that repeats itself ".repeat(20) + "\"";
                default -> "\"Question " + i + ": what comes after " + (i * 7) + "?\"";
            };
            jsonl.append("{\"id\": \"p").append(i).append("\", \"prompt\": ").append(prompt).append("}\n");
        }
        return Files.writeString(tmp.resolve("prompts.jsonl"), jsonl);
    }

    private Map<String, Object> generateJob(Path in, Path out) {
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("input.path", in.toString());
        k.put("output.path", out.toString());
        k.put("model.path", model.toString());
        k.put("model.cache_dir", tmp.resolve("cache").toString());
        k.put("prompt.column", "prompt");
        k.put("id_column", "id");
        k.put("engine.context_length", 48);
        k.put("sampling.temperature", 0.9);
        k.put("sampling.top_k", 40);
        k.put("sampling.max_tokens", 8);
        k.put("sampling.seed", 2024);
        return k;
    }

    @Test
    void generationWithErrorsOnlyOnThePlantedRows() throws Exception {
        Path out = tmp.resolve("out");
        Summary summary = Jobs.run(generateJob(prompts(), out), "logprobs=2");
        Map<String, Row> rows = Jobs.byId(Jobs.output(out));
        assertEquals(30, rows.size());
        Set<String> failed = rows.entrySet().stream().filter(e -> e.getValue().getAs("error") != null).map(Map.Entry::getKey).collect(Collectors.toSet());
        assertEquals(Set.of("p3", "p11", "p17"), failed);
        assertEquals("column 'prompt' is null", rows.get("p3").getAs("error"));
        assertEquals("empty prompt: column 'prompt' is empty", rows.get("p11").getAs("error"));
        assertTrue(((String) rows.get("p17").getAs("error")).contains("max_context_policy=error"), (String) rows.get("p17").getAs("error"));
        for (Row r : rows.values()) {
            if (r.getAs("error") != null) continue;
            assertTrue(Set.of("stop", "length").contains((String) r.getAs("finish_reason")));
            int completion = r.getAs("completion_tokens");
            assertTrue(completion >= 1 && completion <= 8, "completion tokens " + completion);
            assertTrue((int) r.getAs("prompt_tokens") > 5);
            List<Row> logprobs = r.getList(r.fieldIndex("logprobs"));
            assertEquals(completion, logprobs.size());
            for (Row t : logprobs) {
                assertTrue(t.getFloat(t.fieldIndex("logprob")) <= 0f);
                assertEquals(2, t.getList(t.fieldIndex("top")).size());
            }
        }
        assertEquals(27, summary.output().rowsOk());
        assertTrue(summary.run().completionTokensPerSecond() > 0);
    }

    @Test
    void sameRowsSameTokensWhateverThePartitioningAndTheSameAsThePlainApi() throws Exception {
        Path in = prompts();
        Jobs.run(generateJob(in, tmp.resolve("one")), "partitions=1", "batch_size=1", "chunk_rows=1000");
        Jobs.run(generateJob(in, tmp.resolve("four")), "partitions=4", "batch_size=5", "chunk_rows=11", "batches_in_flight=3");
        Map<String, Row> one = Jobs.byId(Jobs.output(tmp.resolve("one")));
        Map<String, Row> four = Jobs.byId(Jobs.output(tmp.resolve("four")));
        assertEquals(one.keySet(), four.keySet());
        for (String id : one.keySet()) assertEquals((String) one.get(id).getAs("generation"), four.get(id).getAs("generation"), id);
        assertTrue(one.values().stream().map(r -> (String) r.getAs("generation")).filter(g -> g != null).distinct().count() > 20);

        // The job's row equals what the engine's own API gives for that prompt and row seed.
        try (Engine engine = Engine.load(EngineOptions.of(model).withContextLength(48))) {
            for (String id : List.of("p0", "p5", "p29")) {
                Row row = one.get(id);
                long rowSeed = ((Row) row.getAs("sampling")).getLong(7);
                int i = Integer.parseInt(id.substring(1));
                SamplingParams sampling = SamplingParams.GREEDY.withTemperature(0.9f).withTopK(40).withSeed(rowSeed);
                GenerationResult direct = engine.generate(new GenerationRequest(new Prompt.Text("Question " + i + ": what comes after " + (i * 7) + "?"),
                        sampling, 8, List.of(), null, 0, ContextOverflowPolicy.ERROR, false)).join();
                assertEquals(direct.text(), row.getAs("generation"), id);
            }
        }
    }

    @Test
    void scoringMatchesThePlainApi() throws Exception {
        Path in = Files.writeString(tmp.resolve("pairs.jsonl"), """
                {"id": "s1", "q": "The capital of France is", "a": " Paris"}
                {"id": "s2", "q": "Two plus two equals", "a": " four, of course"}
                {"id": "s3", "q": "", "a": " anything"}
                """);
        Path out = tmp.resolve("out");
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("input.path", in.toString());
        k.put("output.path", out.toString());
        k.put("model.path", model.toString());
        k.put("model.cache_dir", tmp.resolve("cache").toString());
        k.put("mode", "score");
        k.put("context.column", "q");
        k.put("continuation.column", "a");
        k.put("token_logprobs", true);
        k.put("id_column", "id");
        Jobs.run(k);
        Map<String, Row> rows = Jobs.byId(Jobs.output(out));
        try (Engine engine = Engine.load(EngineOptions.of(model))) {
            for (String[] pair : new String[][]{{"s1", "The capital of France is", " Paris"}, {"s2", "Two plus two equals", " four, of course"}, {"s3", "", " anything"}}) {
                ScoreResult direct = engine.score(new ScoreRequest(pair[1], pair[2])).join();
                Row r = rows.get(pair[0]);
                assertNull(r.getAs("error"), pair[0]);
                // Same model, same tokens: batching with other rows must not change the sum beyond float noise.
                assertEquals(direct.logprob(), (double) r.getAs("logprob"), 1e-4, pair[0]);
                assertEquals(direct.isGreedy(), r.getAs("is_greedy"));
                assertEquals(direct.nTokens(), (int) r.getAs("continuation_tokens"));
                assertEquals(direct.nTokens(), r.getList(r.fieldIndex("token_logprobs")).size());
            }
        }
    }

    @Test
    void captionImagesWithTheVisionProjector() throws Exception {
        Path images = Files.createDirectories(tmp.resolve("images"));
        try (var files = Files.list(Fixtures.path("vision/images"))) {
            for (Path f : files.toList()) Files.copy(f, images.resolve(f.getFileName()));
        }
        Files.write(images.resolve("broken.png"), new byte[]{(byte) 0x89, 'P', 'N', 'G', 0, 1, 2});
        Path out = tmp.resolve("out");
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("input.path", images.toString());
        k.put("input.format", "images");
        k.put("output.path", out.toString());
        k.put("model.path", model.toString());
        k.put("model.mmproj", Fixtures.path("vision/mmproj-llama4-tiny-f32.gguf").toString());
        k.put("model.cache_dir", tmp.resolve("cache").toString());
        k.put("mode", "caption");
        k.put("prompt.template", "Describe the image.");
        k.put("prompt.chat", true);
        k.put("sampling.max_tokens", 6);
        Jobs.run(k);
        Map<String, Row> rows = Jobs.byId(Jobs.output(out));
        assertEquals(5, rows.size());
        for (Map.Entry<String, Row> e : rows.entrySet()) {
            if (e.getKey().endsWith("broken.png")) {
                assertNotNull(e.getValue().getAs("error"), "an undecodable image fails its row only");
            } else {
                assertNull(e.getValue().getAs("error"), e.getKey() + ": " + e.getValue().getAs("error"));
                assertTrue((int) e.getValue().getAs("prompt_tokens") > 10, "image tokens are part of the prompt");
                assertTrue((int) e.getValue().getAs("completion_tokens") >= 1);
            }
        }
    }
}

package dev.herd.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.herd.spark.model.ChecksumMemo;
import dev.herd.spark.run.RowSeeds;
import dev.herd.spark.run.Summary;
import dev.herd.spark.testing.FakeEngine;
import dev.herd.spark.testing.Jobs;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Generation end to end in local mode with the fake engine: bad rows, output schema, summary. */
class GenerateJobTest {
    @TempDir Path tmp;
    Path model;

    static final StructType SCHEMA = new StructType()
            .add("uid", DataTypes.StringType, false)
            .add("text", DataTypes.StringType, true)
            .add("topic", DataTypes.StringType, true);

    @BeforeEach
    void setUp() {
        model = Jobs.fakeModel(tmp.resolve("models"), "m.gguf");
        FakeEngine.reset();
    }

    /** 22 good rows and three planted bad ones. */
    private Path input() {
        List<Object[]> rows = new ArrayList<>();
        for (int i = 0; i < 22; i++) rows.add(new Object[]{"r" + i, "tell me about thing number " + i, "t" + (i % 3)});
        rows.add(new Object[]{"bad-null", null, "t0"});
        rows.add(new Object[]{"bad-empty", "", "t1"});
        rows.add(new Object[]{"bad-long", "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen", "t2"});
        Path in = tmp.resolve("in.parquet");
        Jobs.frame(SCHEMA, rows.toArray(Object[][]::new)).repartition(3).write().parquet(in.toString());
        return in;
    }

    private Map<String, Object> job(Path in, Path out) {
        Map<String, Object> k = Jobs.base(in, "parquet", out, model, tmp.resolve("cache"));
        k.put("prompt.column", "text");
        k.put("id_column", "uid");
        k.put("output.columns", List.of("topic", "text"));
        k.put("engine.context_length", 16);
        k.put("sampling.temperature", 0.8);
        k.put("sampling.max_tokens", 3);
        k.put("sampling.seed", 42);
        k.put("batch_size", 3);
        k.put("chunk_rows", 8);
        return k;
    }

    @Test
    void everyRowOnceWithErrorsOnlyOnTheBadRows() throws IOException {
        Path in = input();
        Path out = tmp.resolve("out");
        Summary summary = Jobs.run(job(in, out));

        Map<String, Row> rows = Jobs.byId(Jobs.output(out));
        assertEquals(25, rows.size());
        assertEquals(List.of("id", "topic", "text", "generation", "finish_reason", "prompt_tokens", "completion_tokens",
                "latency_ms", "model", "model_sha256", "sampling", "error"), Arrays.asList(Jobs.output(out).columns()));
        assertEquals("column 'text' is null", rows.get("bad-null").getAs("error"));
        assertEquals("empty prompt: column 'text' is empty", rows.get("bad-empty").getAs("error"));
        assertEquals("prompt of 16 tokens does not fit the context of 16", rows.get("bad-long").getAs("error"));
        for (String bad : List.of("bad-null", "bad-empty", "bad-long")) {
            assertNull(rows.get(bad).getAs("generation"));
            assertEquals("error", rows.get(bad).getAs("finish_reason"));
        }
        String sha;
        try (var s = Files.newInputStream(model)) {
            sha = ChecksumMemo.sha256Hex(s);
        }
        for (int i = 0; i < 22; i++) {
            Row r = rows.get("r" + i);
            assertNull(r.getAs("error"), "r" + i);
            assertEquals(3, ((String) r.getAs("generation")).split(" ").length);
            assertEquals(7, (int) r.getAs("prompt_tokens"));
            assertEquals(3, (int) r.getAs("completion_tokens"));
            assertEquals("t" + (i % 3), r.getAs("topic"));
            assertEquals("fake-m.gguf", r.getAs("model"));
            assertEquals(sha, r.getAs("model_sha256"));
            Row sampling = r.getAs("sampling");
            assertEquals(0.8, sampling.getDouble(0));
            assertEquals(42L, sampling.getLong(sampling.fieldIndex("seed")));
            assertEquals(RowSeeds.seed(42, "r" + i), sampling.getLong(sampling.fieldIndex("row_seed")));
        }

        assertEquals("succeeded", summary.status());
        assertEquals(25, summary.run().rowsToDo());
        assertEquals(22, summary.run().rowsOk());
        assertEquals(3, summary.run().rowsFailed());
        assertEquals(4, summary.run().chunks());
        assertEquals(4, summary.run().chunksCommitted());
        assertEquals(22 * 3, summary.run().completionTokens());
        assertEquals(Map.of("column 'text' is null", 1L, "empty prompt", 1L, "prompt of N tokens does not fit the context of N", 1L),
                summary.output().rowsFailedByReason());
        assertEquals(25, summary.output().rows());
        assertEquals(25, summary.output().distinctIds());
        JsonNode written = new ObjectMapper().readTree(out.resolve("_herd/summary.json").toFile());
        assertEquals(22, written.path("run").path("rows_ok").asLong());
        try (var chunkMarkers = Files.list(out.resolve("_herd/chunks"))) {
            assertEquals(4, chunkMarkers.filter(p -> p.getFileName().toString().endsWith(".json")).count());
        }
    }

    @Test
    void truncateLeftKeepsTheLongPrompt() {
        Path out = tmp.resolve("out");
        Jobs.run(job(input(), out), "max_context_policy=truncate_left");
        Row r = Jobs.byId(Jobs.output(out)).get("bad-long");
        assertNull(r.getAs("error"));
        assertEquals(15, (int) r.getAs("prompt_tokens"));
    }

    @Test
    void concurrentTasksFeedOneEngineTogether() {
        Path out = tmp.resolve("out");
        System.setProperty("herd.fake.delayMs", "150");
        int loads = FakeEngine.LOADS.get();
        try {
            Jobs.run(job(input(), out), "partitions=2", "batch_size=4", "batches_in_flight=2", "chunk_rows=1000");
        } finally {
            System.clearProperty("herd.fake.delayMs");
        }
        // One task keeps at most 4 x 2 requests in flight; more at once means both tasks fed the engine together.
        assertTrue(FakeEngine.MAX_IN_FLIGHT.get() > 8, "most requests in flight at once: " + FakeEngine.MAX_IN_FLIGHT.get());
        assertTrue(FakeEngine.LOADS.get() - loads <= 1, "the two tasks share one engine");
        assertEquals(25, Jobs.output(out).count());
    }
}

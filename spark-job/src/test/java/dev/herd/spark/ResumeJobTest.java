package dev.herd.spark;

import dev.herd.spark.config.ConfigException;
import dev.herd.spark.run.JobFailedException;
import dev.herd.spark.run.Summary;
import dev.herd.spark.testing.FakeEngine;
import dev.herd.spark.testing.Jobs;
import dev.herd.spark.testing.SharedSpark;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

/** Incremental commits, resume, error_policy fail, and reproducibility across partitionings. */
class ResumeJobTest {
    @TempDir Path tmp;
    Path model;
    Path in;
    static final int ROWS = 40;
    static final int CHUNKS = 4;

    @BeforeEach
    void setUp() {
        model = Jobs.fakeModel(tmp.resolve("models"), "m.gguf");
        StructType schema = new StructType().add("id", DataTypes.StringType).add("text", DataTypes.StringType);
        List<Object[]> rows = new ArrayList<>();
        for (int i = 0; i < ROWS; i++) rows.add(new Object[]{"row-" + i, "prompt number " + i + (i == crashRow() ? " CRASHME" : "")});
        in = tmp.resolve("in");
        Jobs.frame(schema, rows.toArray(Object[][]::new)).write().parquet(in.toString());
        FakeEngine.reset();
    }

    @AfterEach
    void noCrash() {
        System.clearProperty("herd.fake.crash");
    }

    /** A row that falls in the last chunk, so earlier chunks are committed before it crashes the engine. */
    private static int crashRow() {
        for (int i = 0; i < ROWS; i++) {
            long chunk = SharedSpark.get().sql("SELECT pmod(xxhash64('row-" + i + "'), " + CHUNKS + ")").first().getLong(0);
            if (chunk == CHUNKS - 1) return i;
        }
        throw new AssertionError("no row in the last chunk");
    }

    private Map<String, Object> job(Path out) {
        Map<String, Object> k = Jobs.base(in, "parquet", out, model, tmp.resolve("cache"));
        k.put("prompt.column", "text");
        k.put("id_column", "id");
        k.put("sampling.temperature", 1.0);
        k.put("sampling.max_tokens", 4);
        k.put("sampling.seed", 7);
        k.put("chunk_rows", ROWS / CHUNKS);
        return k;
    }

    @Test
    void aFailedJobKeepsCommittedChunksAndResumeDoesOnlyTheRest() {
        Path out = tmp.resolve("out");
        System.setProperty("herd.fake.crash", "CRASHME");
        JobFailedException failed = assertThrows(JobFailedException.class, () -> Jobs.run(job(out)));
        assertTrue(failed.getMessage().contains("fake engine crashed on purpose"), failed.getMessage());
        assertEquals("failed", failed.summary().status());
        int committedChunks = failed.summary().run().chunksCommitted();
        assertEquals(CHUNKS - 1, committedChunks);
        long committedRows = Jobs.output(out).count();
        assertTrue(committedRows > 0 && committedRows < ROWS, "committed " + committedRows);

        System.clearProperty("herd.fake.crash");
        ConfigException notResumed = assertThrows(ConfigException.class, () -> Jobs.run(job(out)));
        assertTrue(notResumed.getMessage().contains("set resume: true"), notResumed.getMessage());

        FakeEngine.reset();
        Summary resumed = Jobs.run(job(out), "resume=true");
        assertEquals(committedRows, resumed.run().rowsAlreadyDone());
        assertEquals(ROWS - committedRows, resumed.run().rowsToDo());
        assertEquals(ROWS - committedRows, FakeEngine.PROMPTS.size(), "only the rows not yet committed reach the engine");
        Map<String, Row> rows = Jobs.byId(Jobs.output(out));
        assertEquals(IntStream.range(0, ROWS).mapToObj(i -> "row-" + i).collect(Collectors.toSet()), rows.keySet());
        assertEquals(ROWS, resumed.output().rows());
        assertEquals(ROWS, resumed.output().distinctIds());

        FakeEngine.reset();
        Summary nothingLeft = Jobs.run(job(out), "resume=true");
        assertEquals(0, nothingLeft.run().rowsToDo());
        assertEquals(0, FakeEngine.PROMPTS.size());
        assertEquals(ROWS, Jobs.output(out).count());
    }

    @Test
    void staleTaskFilesOfAKilledJobAreNotAdopted() throws Exception {
        Path out = tmp.resolve("out");
        Jobs.run(job(out), "chunk_rows=1000");
        // What a driver killed between task commit and job commit leaves behind.
        Path stale = out.resolve("_temporary/0/task_202601010000_0001_m_000000");
        Files.createDirectories(stale);
        Files.copy(Files.list(out).filter(p -> p.getFileName().toString().endsWith(".parquet")).findFirst().orElseThrow(),
                stale.resolve("part-00000-stale.snappy.parquet"));
        Summary resumed = Jobs.run(job(out), "resume=true", "chunk_rows=1000");
        assertEquals(0, resumed.run().rowsToDo());
        assertFalse(Files.exists(out.resolve("_temporary")));
        assertEquals(ROWS, Jobs.output(out).count());
    }

    @Test
    void resumingWithOtherSettingsIsRefusedNamingTheKey() {
        Path out = tmp.resolve("out");
        Jobs.run(job(out));
        ConfigException e = assertThrows(ConfigException.class, () -> Jobs.run(job(out), "resume=true", "sampling.temperature=0.5"));
        assertTrue(e.getMessage().contains("resume: sampling.temperature was '1.0'"), e.getMessage());
    }

    @Test
    void errorPolicyFailStopsAtTheBadRowAndNamesIt() {
        Path out = tmp.resolve("out");
        Path badIn = tmp.resolve("bad-in");
        StructType schema = new StructType().add("id", DataTypes.StringType).add("text", DataTypes.StringType);
        List<Object[]> rows = new ArrayList<>();
        for (int i = 0; i < 12; i++) rows.add(new Object[]{"row-" + i, i == 5 ? null : "fine prompt " + i});
        Jobs.frame(schema, rows.toArray(Object[][]::new)).write().parquet(badIn.toString());
        Map<String, Object> k = job(out);
        k.put("input.path", badIn.toString());
        k.put("error_policy", "fail");
        k.put("chunk_rows", 1000);
        k.put("partitions", 1);
        k.put("batch_size", 2);
        JobFailedException e = assertThrows(JobFailedException.class, () -> Jobs.run(k));
        assertTrue(e.getMessage().startsWith("row id=row-5 failed: column 'text' is null (error_policy: fail)"), e.getMessage());
        Set<String> written = Jobs.byId(Jobs.output(out)).keySet();
        assertFalse(written.contains("row-5"), "the bad row is not written, so a resume retries it");
        assertTrue(Jobs.output(out).filter("error IS NOT NULL").isEmpty(), "only rows before the bad one are written");
    }

    @Test
    void aRowsOutputDoesNotDependOnPartitioningOrBatchSize() {
        Path one = tmp.resolve("one");
        Path four = tmp.resolve("four");
        Jobs.run(job(one), "partitions=1", "batch_size=1", "chunk_rows=1000");
        Jobs.run(job(four), "partitions=4", "batch_size=7", "chunk_rows=13", "batches_in_flight=3");
        Map<String, Row> a = Jobs.byId(Jobs.output(one));
        Map<String, Row> b = Jobs.byId(Jobs.output(four));
        assertEquals(ROWS, a.size());
        assertEquals(a.keySet(), b.keySet());
        Set<String> distinct = a.values().stream().map(r -> (String) r.getAs("generation")).collect(Collectors.toSet());
        assertTrue(distinct.size() > ROWS / 2, "sampled rows differ from each other");
        for (String id : a.keySet()) {
            assertEquals((String) a.get(id).getAs("generation"), b.get(id).getAs("generation"), id);
            assertEquals((Row) a.get(id).getAs("sampling"), b.get(id).getAs("sampling"), id);
        }
    }
}

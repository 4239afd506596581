package dev.herd.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.herd.spark.testing.FakeEngine;
import dev.herd.spark.testing.Processes;
import dev.herd.spark.testing.ParquetRows;
import org.apache.hadoop.conf.Configuration;
import dev.herd.spark.testing.TestDoublesJar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * bin/herd-submit in local mode, its driver killed (SIGKILL) after some chunks are committed; the
 * re-run with resume=true does only the rest and every row ends up in the output exactly once.
 */
class KillAndResumeIT {
    static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    @TempDir Path tmp;

    private ProcessBuilder herdSubmit(Path job, String javaOpts, String... overrides) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(REPO.resolve("bin/herd-submit").toString(), job.toString(), "--master", "local[2]",
                "--jars", TestDoublesJar.write(tmp.resolve("doubles.jar")).toString()));
        cmd.addAll(List.of(overrides));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("HERD_JAVA_OPTS", javaOpts);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        return pb;
    }

    @Test
    void aKilledDriverLosesOnlyItsUncommittedChunk() throws Exception {
        Set<String> ids = new LinkedHashSet<>();
        StringBuilder jsonl = new StringBuilder();
        for (int i = 0; i < 60; i++) {
            ids.add("k" + i);
            jsonl.append("{\"id\": \"k").append(i).append("\", \"prompt\": \"resume me ").append(i).append("\"}\n");
        }
        Path in = Files.writeString(tmp.resolve("in.jsonl"), jsonl);
        Path out = tmp.resolve("out");
        Path job = Files.writeString(tmp.resolve("job.yaml"), """
                input: {path: "%s"}
                output: {path: "%s"}
                model: {path: "%s", cache_dir: "%s"}
                engine: {factory: "%s"}
                prompt: {column: prompt}
                id_column: id
                sampling: {temperature: 0.9, max_tokens: 4, seed: 11}
                chunk_rows: 10
                batch_size: 1
                batches_in_flight: 1
                """.formatted(in, out, REPO.resolve("models/tiny/tiny-f32.gguf"), tmp.resolve("cache"), FakeEngine.Factory.class.getName()));

        Process first = herdSubmit(job, "-Dherd.fake.delayMs=150").redirectOutput(tmp.resolve("first.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
            while (committedChunks(out) < 2) {
                assertTrue(first.isAlive(), "the first run ended before it could be killed:\n" + Processes.read(tmp.resolve("first.log")));
                assertTrue(System.nanoTime() < deadline, "no chunk committed in time:\n" + Processes.read(tmp.resolve("first.log")));
                TimeUnit.MILLISECONDS.sleep(100);
            }
            Processes.kill(first.pid());
            assertTrue(first.waitFor(30, TimeUnit.SECONDS));
        } finally {
            first.destroyForcibly();
        }
        assertNotEquals(0, first.exitValue());
        Set<String> committed = ParquetRows.errorsById(out.toString(), new Configuration()).keySet();
        assertTrue(committed.size() >= 20 && committed.size() < 60, "committed " + committed.size());

        Process second = herdSubmit(job, "", "resume=true").redirectOutput(tmp.resolve("second.log").toFile()).start();
        assertTrue(second.waitFor(180, TimeUnit.SECONDS), "the resumed run finished");
        assertEquals(0, second.exitValue(), Processes.read(tmp.resolve("second.log")));
        JsonNode summary = new ObjectMapper().readTree(out.resolve("_herd/summary.json").toFile());
        assertEquals(committed.size(), summary.path("run").path("rows_already_done").asLong());
        assertEquals(60 - committed.size(), summary.path("run").path("rows_to_do").asLong(), "only the rest is redone");
        assertEquals(ids, ParquetRows.errorsById(out.toString(), new Configuration()).keySet(), "every row exactly once");
    }

    private static long committedChunks(Path out) throws Exception {
        Path chunks = out.resolve("_herd/chunks");
        if (!Files.isDirectory(chunks)) return 0;
        try (var files = Files.list(chunks)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".json")).count();
        }
    }
}

package dev.herd.spark;

import dev.herd.spark.model.EngineHolder;
import dev.herd.spark.model.ModelCache;
import dev.herd.spark.testing.Processes;
import dev.herd.spark.testing.ParquetRows;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A real Spark standalone cluster on 127.0.0.1 (a master and two one-core workers started from
 * the Maven jars), HDFS in this JVM for the model and the data, and the job submitted in client
 * mode with the application jar, as on a real cluster, running herd's engine on the tiny reference
 * model (random weights).
 */
class StandaloneClusterIT {
    static final Path WORK = Path.of("target/it-cluster").toAbsolutePath();
    static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    static Processes processes;
    static MiniDFSCluster hdfs;
    static String hdfsRoot;
    static String master;
    static String sparkClasspath;
    static List<String> flags;

    @BeforeAll
    static void startCluster() throws Exception {
        deleteRecursively(WORK);
        Path jars = Files.createDirectories(WORK.resolve("spark-home/jars"));
        sparkClasspath = Files.readString(Path.of(System.getProperty("herd.sparkClasspath"))).trim();
        for (String jar : sparkClasspath.split(java.io.File.pathSeparator)) {
            Path link = jars.resolve(Path.of(jar).getFileName());
            if (!Files.exists(link)) Files.createSymbolicLink(link, Path.of(jar));
        }
        flags = Processes.split(System.getProperty("herd.jvmFlags"));
        Map<String, String> env = new HashMap<>();
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("SPARK_HOME", WORK.resolve("spark-home").toString());
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("SPARK_SCALA_VERSION", "2.13");
        processes = new Processes(Files.createDirectories(WORK.resolve("logs")), env);

        int port = Processes.freePort();
        master = "spark://127.0.0.1:" + port;
        String cp = jars + "/*";
        List<String> daemon = new ArrayList<>(flags);
        daemon.add("-Xmx256m");
        processes.java("master", daemon, cp, "org.apache.spark.deploy.master.Master",
                List.of("--host", "127.0.0.1", "--port", String.valueOf(port), "--webui-port", String.valueOf(Processes.freePort())));
        Processes.await(processes.log("master"), t -> t.contains("I have been elected leader"), Duration.ofSeconds(90), "the master");
        for (int i = 1; i <= 2; i++) {
            processes.java("worker-" + i, daemon, cp, "org.apache.spark.deploy.worker.Worker",
                    List.of("--host", "127.0.0.1", "--cores", "1", "--memory", "1g", "--webui-port", String.valueOf(Processes.freePort()),
                            "--work-dir", Files.createDirectories(WORK.resolve("worker-" + i)).toString(), master));
        }
        Processes.await(processes.log("master"), t -> Processes.count(t, "Registering worker") >= 2, Duration.ofSeconds(90), "two workers");

        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, WORK.resolve("hdfs").toString());
        hdfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        hdfs.waitActive();
        hdfsRoot = "hdfs://127.0.0.1:" + hdfs.getNameNodePort();
        FileSystem fs = hdfs.getFileSystem();
        fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(REPO.resolve("models/tiny/tiny-f32.gguf").toUri()),
                new org.apache.hadoop.fs.Path(hdfsRoot + "/models/tiny-f32.gguf"));
    }

    @AfterAll
    static void stopCluster() {
        if (processes != null) processes.close();
        if (hdfs != null) hdfs.shutdown();
    }

    /** Prompts; rows 7 and 31 have none and row 45's is too long for the 64-token context. */
    private static Set<String> writeInput(String path, int rows) throws Exception {
        Set<String> ids = new LinkedHashSet<>();
        try (OutputStream out = hdfs.getFileSystem().create(new org.apache.hadoop.fs.Path(hdfsRoot + path))) {
            for (int i = 0; i < rows; i++) {
                String id = "c" + i;
                ids.add(id);
                String prompt = i == 7 || i == 31 ? "null" : i == 45 ? "\"" + "word ".repeat(80) + "\"" : "\"cluster prompt number " + i + "\"";
                out.write(("{\"id\": \"" + id + "\", \"prompt\": " + prompt + "}\n").getBytes(StandardCharsets.UTF_8));
            }
        }
        return ids;
    }

    private Process submit(String name, Path job) {
        List<String> jvm = new ArrayList<>(flags);
        jvm.add("-Xmx512m");
        jvm.add("-Dlog4j2.configurationFile=" + REPO.resolve("conf/log4j2.properties"));
        List<String> args = new ArrayList<>(List.of("--master", master, "--deploy-mode", "client",
                "--class", HerdJob.class.getName(),
                "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
                "--conf", "spark.ui.enabled=false", "--conf", "spark.executor.memory=512m", "--conf", "spark.executor.cores=1",
                "--conf", "spark.cores.max=2", "--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0",
                System.getProperty("herd.appJar"), job.toString()));
        return processes.java(name, jvm, sparkClasspath, "org.apache.spark.deploy.SparkSubmit", args);
    }

    private Path job(String name, String input, String output, Path cache) throws Exception {
        return Files.writeString(WORK.resolve(name + ".yaml"), """
                input: {path: "%s", format: jsonl}
                output: {path: "%s"}
                model: {path: "%s/models/tiny-f32.gguf", cache_dir: "%s"}
                engine: {context_length: 64}
                prompt: {column: prompt}
                id_column: id
                sampling: {temperature: 0.7, max_tokens: 16, seed: 3}
                chunk_rows: 20
                """.formatted(hdfsRoot + input, hdfsRoot + output, hdfsRoot, cache));
    }

    private static Map<String, String> output(String path) throws Exception {
        return ParquetRows.errorsById(hdfsRoot + path, hdfs.getConfiguration(0));
    }

    private static List<Long> enginePids(Path cache) {
        List<Long> pids = new ArrayList<>();
        Matcher m = Pattern.compile("pid=(\\d+)").matcher(Processes.read(cache.resolve(EngineHolder.LOADS_LOG)));
        while (m.find()) pids.add(Long.parseLong(m.group(1)));
        return pids;
    }

    @Test
    void everyRowOnceOneCopyPerNodeOneEnginePerExecutorEvenWhenAnExecutorIsLost() throws Exception {
        Set<String> ids = writeInput("/data/in.jsonl", 200);
        Path cache = WORK.resolve("cache");
        Process driver = submit("job", job("job", "/data/in.jsonl", "/data/out", cache));

        // Once a chunk is committed and both executors have their engines, kill one executor JVM:
        // the job still has chunks to do, and its tasks on that executor are retried elsewhere.
        FileSystem fs = hdfs.getFileSystem();
        org.apache.hadoop.fs.Path chunks = new org.apache.hadoop.fs.Path(hdfsRoot + "/data/out/_herd/chunks");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        while (!(fs.exists(chunks) && fs.listStatus(chunks).length > 0 && enginePids(cache).size() >= 2)) {
            assertTrue(driver.isAlive(), "the job ended before an executor could be lost:\n" + Processes.read(processes.log("job")));
            assertTrue(System.nanoTime() < deadline, "no chunk committed in time:\n" + Processes.read(processes.log("job")));
            TimeUnit.MILLISECONDS.sleep(100);
        }
        long victim = enginePids(cache).getFirst();
        Processes.kill(victim);

        assertTrue(driver.waitFor(300, TimeUnit.SECONDS), "the job finished");
        String log = Processes.read(processes.log("job"));
        assertEquals(0, driver.exitValue(), log);
        assertTrue(log.contains("Lost executor"), "the driver saw the executor go:\n" + log);

        Map<String, String> rows = output("/data/out");
        assertEquals(ids, rows.keySet(), "every input row exactly once");
        Map<String, String> errors = rows.entrySet().stream().filter(e -> e.getValue() != null)
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
        assertEquals(Set.of("c7", "c31", "c45"), errors.keySet(), "errors only on the planted rows: " + errors);
        assertEquals("column 'prompt' is null", errors.get("c7"));
        assertEquals("column 'prompt' is null", errors.get("c31"));
        assertTrue(errors.get("c45").contains("max_context_policy=error"), errors.get("c45"));

        List<String> copies = Files.readAllLines(cache.resolve(ModelCache.COPIES_LOG));
        assertEquals(1, copies.size(), "executors on one node share one copy: " + copies);
        List<Long> pids = enginePids(cache);
        assertEquals(pids.size(), Set.copyOf(pids).size(), "one engine per executor JVM, never rebuilt: " + pids);
        assertTrue(pids.size() >= 2 && pids.contains(victim), "two executors, then perhaps a replacement: " + pids);
        assertFalse(pids.contains(driver.pid()), "engines live in the executors, not the driver");
        assertFalse(ProcessHandle.of(victim).map(ProcessHandle::isAlive).orElse(false));
    }

    private static void deleteRecursively(Path dir) throws Exception {
        if (!Files.exists(dir)) return;
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}

package dev.herd.spark;

import dev.herd.engine.testing.Fixtures;
import dev.herd.spark.model.ChecksumMemo;
import dev.herd.spark.model.EngineHolder;
import dev.herd.spark.model.ModelCache;
import dev.herd.spark.run.Summary;
import dev.herd.spark.testing.Jobs;
import dev.herd.spark.testing.SharedSpark;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The model and the input on a real HDFS (NameNode + DataNode in this JVM): the weight cache
 * copies the model from hdfs:// once, verifies it and herd's engine maps the local copy; the
 * input is read and the output committed through HDFS.
 */
class HdfsTest {
    @TempDir static Path tmp;
    static MiniDFSCluster hdfs;
    static String root;

    @BeforeAll
    static void startHdfs() throws Exception {
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, tmp.resolve("hdfs").toString());
        conf.set("dfs.namenode.rpc-address", "127.0.0.1:0");
        conf.set("dfs.datanode.address", "127.0.0.1:0");
        conf.set("dfs.datanode.http.address", "127.0.0.1:0");
        conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
        conf.set("dfs.namenode.http-address", "127.0.0.1:0");
        hdfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        hdfs.waitActive();
        root = "hdfs://127.0.0.1:" + hdfs.getNameNodePort();
    }

    @AfterAll
    static void stopHdfs() {
        if (hdfs != null) hdfs.shutdown();
    }

    @Test
    void modelAndInputFromHdfs() throws Exception {
        FileSystem fs = hdfs.getFileSystem();
        Path localModel = Fixtures.path("text/tiny/tiny-f32.gguf");
        fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(localModel.toUri()), new org.apache.hadoop.fs.Path(root + "/models/m.gguf"));
        StructType schema = new StructType().add("id", DataTypes.StringType).add("text", DataTypes.StringType);
        List<Object[]> rows = new ArrayList<>();
        for (int i = 0; i < 12; i++) rows.add(new Object[]{"h" + i, i == 3 ? null : "hdfs prompt " + i});
        Jobs.frame(schema, rows.toArray(Object[][]::new)).write().parquet(root + "/data/in");

        Path cache = tmp.resolve("cache");
        Map<String, Object> k = new java.util.LinkedHashMap<>();
        k.put("model.cache_dir", cache.toString());
        k.put("input.path", root + "/data/in");
        k.put("input.format", "parquet");
        k.put("output.path", root + "/data/out");
        k.put("model.path", root + "/models/m.gguf");
        k.put("prompt.column", "text");
        k.put("id_column", "id");
        k.put("chunk_rows", 5);
        k.put("sampling.max_tokens", 4);
        Summary summary = Jobs.run(k);

        String sha;
        try (var in = Files.newInputStream(localModel)) {
            sha = ChecksumMemo.sha256Hex(in);
        }
        Path cached = cache.resolve(sha).resolve("m.gguf");
        assertArrayEquals(Files.readAllBytes(localModel), Files.readAllBytes(cached), "the verified copy");
        String load = Files.readAllLines(cache.resolve(EngineHolder.LOADS_LOG)).getLast();
        assertTrue(load.contains(" path=" + cached + " "), "the engine maps the node-local copy: " + load);
        List<String> copies = Files.readAllLines(cache.resolve(ModelCache.COPIES_LOG));
        assertEquals(1, copies.size());
        assertTrue(copies.getFirst().contains("uri=" + root + "/models/m.gguf"), copies.getFirst());

        assertEquals(12, summary.output().rows());
        assertEquals(1, summary.output().rowsFailed());
        assertEquals(11, SharedSpark.get().read().parquet(root + "/data/out").filter("generation IS NOT NULL AND completion_tokens > 0").count());
        assertEquals(sha, summary.modelSha256());
        assertTrue(fs.exists(new org.apache.hadoop.fs.Path(root + "/data/out/_herd/summary.json")));
        assertEquals(12, SharedSpark.get().read().parquet(root + "/data/out").select("id").distinct().count());

        // A second job on the same node: no new copy, no new hash of the HDFS file.
        long memos;
        try (var m = Files.list(cache.resolve("checksums"))) {
            memos = m.count();
        }
        Jobs.run(k, "output.path=" + root + "/data/out2");
        assertEquals(1, Files.readAllLines(cache.resolve(ModelCache.COPIES_LOG)).size());
        try (var m = Files.list(cache.resolve("checksums"))) {
            assertEquals(memos, m.count());
        }
    }
}

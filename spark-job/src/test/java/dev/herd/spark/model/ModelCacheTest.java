package dev.herd.spark.model;

import dev.herd.spark.testing.Jobs;
import dev.herd.spark.testing.RemoteLikeFileSystem;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;

class ModelCacheTest {
    @TempDir java.nio.file.Path tmp;
    final Configuration conf = RemoteLikeFileSystem.configure(new Configuration());

    private ModelFile remote(java.nio.file.Path file) throws IOException {
        Path p = new Path(RemoteLikeFileSystem.uri(file));
        FileSystem fs = p.getFileSystem(conf);
        var status = fs.getFileStatus(p);
        return new ModelFile(p.toUri().toString(), status.getLen(), status.getModificationTime(),
                new ChecksumMemo(tmp.resolve("driver-cache")).sha256(fs, status));
    }

    @Test
    void aRemoteFileIsCopiedOnceAndVerified() throws Exception {
        java.nio.file.Path source = Jobs.fakeModel(tmp.resolve("remote"), "model.gguf");
        ModelFile file = remote(source);
        java.nio.file.Path cacheDir = tmp.resolve("cache");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<java.nio.file.Path>> copies = new ArrayList<>();
        for (int i = 0; i < 8; i++) copies.add(pool.submit(() -> new ModelCache(cacheDir, conf).localize(file)));
        java.nio.file.Path local = null;
        for (Future<java.nio.file.Path> f : copies) {
            java.nio.file.Path p = f.get();
            if (local != null) assertEquals(local, p);
            local = p;
        }
        pool.shutdown();
        assertEquals(cacheDir.resolve(file.sha256()).resolve("model.gguf"), local);
        assertArrayEquals(Files.readAllBytes(source), Files.readAllBytes(local));
        assertEquals(1, Files.readAllLines(cacheDir.resolve(ModelCache.COPIES_LOG)).size(), "eight requests, one copy");
    }

    @Test
    void aCopyWithTheWrongChecksumIsNeverUsed() throws IOException {
        java.nio.file.Path source = Jobs.fakeModel(tmp.resolve("remote"), "model.gguf");
        ModelFile real = remote(source);
        ModelFile wrong = new ModelFile(real.uri(), real.size(), real.modificationTime(), "0".repeat(64));
        java.nio.file.Path cacheDir = tmp.resolve("cache");
        IOException e = assertThrows(IOException.class, () -> new ModelCache(cacheDir, conf).localize(wrong));
        assertTrue(e.getMessage().contains("expected " + real.size() + " bytes and " + "0".repeat(64)), e.getMessage());
        try (var left = Files.list(cacheDir.resolve(wrong.sha256()))) {
            assertEquals(List.of(".lock"), left.map(p -> p.getFileName().toString()).toList(), "no partial or unverified copy is left");
        }
    }

    @Test
    void aPartialCopyLeftByADeadProcessIsReplaced() throws IOException {
        java.nio.file.Path source = Jobs.fakeModel(tmp.resolve("remote"), "model.gguf");
        ModelFile file = remote(source);
        java.nio.file.Path dir = Files.createDirectories(tmp.resolve("cache").resolve(file.sha256()));
        Files.write(dir.resolve(".partial-model.gguf-999999"), new byte[]{1, 2, 3});
        java.nio.file.Path local = new ModelCache(tmp.resolve("cache"), conf).localize(file);
        assertArrayEquals(Files.readAllBytes(source), Files.readAllBytes(local));
        assertFalse(Files.exists(dir.resolve(".partial-model.gguf-999999")));
    }

    @Test
    void aLocalFileIsUsedInPlaceAfterASizeCheck() throws IOException {
        java.nio.file.Path source = Jobs.fakeModel(tmp.resolve("local"), "model.gguf");
        ModelFile file = new ModelFile(source.toUri().toString(), Files.size(source), 0, "unused-for-local-files");
        java.nio.file.Path cacheDir = tmp.resolve("cache");
        assertEquals(source, new ModelCache(cacheDir, conf).localize(file));
        assertFalse(Files.exists(cacheDir.resolve(ModelCache.COPIES_LOG)));
        ModelFile changed = new ModelFile(file.uri(), file.size() + 1, 0, "x");
        IOException e = assertThrows(IOException.class, () -> new ModelCache(cacheDir, conf).localize(changed));
        assertTrue(e.getMessage().contains("the driver saw " + (file.size() + 1)), e.getMessage());
    }
}

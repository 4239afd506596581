package dev.herd.spark.model;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.attribute.FileTime;

import static org.junit.jupiter.api.Assertions.*;

class ChecksumMemoTest {
    @TempDir java.nio.file.Path tmp;

    @Test
    void hashesOnceAndAgainOnlyWhenTheFileChanges() throws Exception {
        java.nio.file.Path file = Files.writeString(tmp.resolve("m.gguf"), "GGUF first version");
        FileTime mtime = Files.getLastModifiedTime(file);
        FileSystem fs = FileSystem.getLocal(new Configuration());
        Path path = new Path(file.toUri());
        ChecksumMemo memo = new ChecksumMemo(tmp.resolve("cache"));
        String first = memo.sha256(fs, fs.getFileStatus(path));
        assertEquals(ChecksumMemo.sha256Hex("GGUF first version".getBytes()), first);

        // Same size, same modification time: the memo answers without reading the file.
        Files.writeString(file, "GGUF other version");
        Files.setLastModifiedTime(file, mtime);
        assertEquals(first, new ChecksumMemo(tmp.resolve("cache")).sha256(fs, fs.getFileStatus(path)));

        Files.setLastModifiedTime(file, FileTime.fromMillis(mtime.toMillis() + 5000));
        assertEquals(ChecksumMemo.sha256Hex("GGUF other version".getBytes()), memo.sha256(fs, fs.getFileStatus(path)));
    }
}

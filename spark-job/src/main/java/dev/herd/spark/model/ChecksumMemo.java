package dev.herd.spark.model;

import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Properties;

/**
 * SHA-256 of model files, remembered in small sidecar files keyed by URI, size and modification
 * time: a 60 GB file is hashed once on a machine, not once per job.
 */
public final class ChecksumMemo {
    private static final Logger LOG = LoggerFactory.getLogger(ChecksumMemo.class);

    private final java.nio.file.Path dir;

    public ChecksumMemo(java.nio.file.Path cacheDir) {
        this.dir = cacheDir.resolve("checksums");
    }

    /** The file's SHA-256, from the memo when its size and modification time are unchanged. */
    public String sha256(FileSystem fs, FileStatus status) throws IOException {
        String uri = status.getPath().toUri().toString();
        java.nio.file.Path sidecar = dir.resolve(sha256Hex(uri.getBytes(StandardCharsets.UTF_8)) + ".properties");
        if (Files.isRegularFile(sidecar)) {
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(sidecar, StandardCharsets.UTF_8)) {
                p.load(r);
            }
            if (uri.equals(p.getProperty("uri")) && String.valueOf(status.getLen()).equals(p.getProperty("size"))
                    && String.valueOf(status.getModificationTime()).equals(p.getProperty("mtime"))
                    && p.getProperty("sha256", "").length() == 64) {
                return p.getProperty("sha256");
            }
        }
        LOG.info("hashing {} ({} bytes) once; the SHA-256 is remembered in {}", uri, status.getLen(), dir);
        long start = System.nanoTime();
        String sha;
        try (InputStream in = fs.open(status.getPath())) {
            sha = sha256Hex(in);
        }
        LOG.info("SHA-256 of {} is {} ({} s)", uri, sha, String.format("%.1f", (System.nanoTime() - start) / 1e9));
        Properties p = new Properties();
        p.setProperty("uri", uri);
        p.setProperty("size", String.valueOf(status.getLen()));
        p.setProperty("mtime", String.valueOf(status.getModificationTime()));
        p.setProperty("sha256", sha);
        Files.createDirectories(dir);
        java.nio.file.Path tmp = Files.createTempFile(dir, ".memo", ".tmp");
        try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            p.store(w, null);
        }
        Files.move(tmp, sidecar, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return sha;
    }

    public static String sha256Hex(InputStream in) throws IOException {
        MessageDigest digest = sha256();
        byte[] buffer = new byte[1 << 20];
        for (int n; (n = in.read(buffer)) > 0; ) digest.update(buffer, 0, n);
        return HexFormat.of().formatHex(digest.digest());
    }

    public static String sha256Hex(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
    }
}

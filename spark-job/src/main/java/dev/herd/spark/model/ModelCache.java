package dev.herd.spark.model;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Makes a model file available as a local path to memory-map.
 *
 * <p>A local or shared POSIX file is used where it is (after checking it is the file the driver
 * saw). A remote one ({@code hdfs://}, {@code s3a://}…) is copied once per node into
 * {@code <cacheDir>/<sha256>/<name>}: under a file lock (executors on one node share the copy),
 * into a partial file that is size- and SHA-256-checked and only then atomically renamed into
 * place, so a partial or corrupt copy is never used. Because a verified copy is the only thing
 * ever renamed to that name, a later job trusts it without hashing it again.
 */
public final class ModelCache {
    private static final Logger LOG = LoggerFactory.getLogger(ModelCache.class);
    /** One log line per copy actually made; the cluster test counts them. */
    public static final String COPIES_LOG = "copies.log";
    private static final String PARTIAL = ".partial-";
    /** FileChannel locks are per process: threads of one JVM also queue on this. */
    private static final ConcurrentHashMap<Path, Object> JVM_LOCKS = new ConcurrentHashMap<>();

    private final Path cacheDir;
    private final Configuration conf;

    public ModelCache(Path cacheDir, Configuration conf) {
        this.cacheDir = cacheDir;
        this.conf = conf;
    }

    public Path localize(ModelFile file) throws IOException {
        return file.isLocal() ? checkLocal(file) : copyOnce(file);
    }

    private static Path checkLocal(ModelFile file) throws IOException {
        Path path = Path.of(URI.create(file.uri()));
        if (!Files.isRegularFile(path)) {
            throw new IOException("model file " + path + " does not exist on this node (" + host() + "): a local model.path must be on every node, e.g. a shared file system");
        }
        long size = Files.size(path);
        if (size != file.size()) {
            throw new IOException("model file " + path + " on " + host() + " has " + size + " bytes; the driver saw " + file.size() + ": it changed since the job started, or this node has a different file");
        }
        return path;
    }

    private Path copyOnce(ModelFile file) throws IOException {
        Path dir = cacheDir.resolve(file.sha256());
        Path target = dir.resolve(file.fileName());
        Files.createDirectories(dir);
        Path lockFile = dir.resolve(".lock");
        synchronized (JVM_LOCKS.computeIfAbsent(lockFile.toAbsolutePath(), p -> new Object())) {
            try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock ignored = channel.lock()) {
                if (Files.isRegularFile(target) && Files.size(target) == file.size()) return target;
                removePartials(dir);
                long free = Files.getFileStore(dir).getUsableSpace();
                if (free < file.size()) {
                    throw new IOException("model cache " + dir + " on " + host() + " has " + free + " bytes free; " + file.uri() + " needs " + file.size() + " (set model.cache_dir to a larger disk)");
                }
                copyVerified(file, dir, target);
                return target;
            }
        }
    }

    private void copyVerified(ModelFile file, Path dir, Path target) throws IOException {
        Path partial = dir.resolve(PARTIAL + file.fileName() + "-" + ProcessHandle.current().pid());
        long start = System.nanoTime();
        LOG.info("copying model file {} ({} bytes) into the node-local cache {}", file.uri(), file.size(), dir);
        MessageDigest digest = ChecksumMemo.sha256();
        long copied = 0;
        org.apache.hadoop.fs.Path source = new org.apache.hadoop.fs.Path(file.uri());
        try (InputStream in = FileSystem.get(source.toUri(), conf).open(source);
             FileChannel out = FileChannel.open(partial, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            OutputStream sink = java.nio.channels.Channels.newOutputStream(out);
            byte[] buffer = new byte[4 << 20];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
                sink.write(buffer, 0, n);
                copied += n;
            }
            sink.flush();
            out.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(partial);
            throw e;
        }
        String sha = HexFormat.of().formatHex(digest.digest());
        if (copied != file.size() || !sha.equals(file.sha256())) {
            Files.deleteIfExists(partial);
            throw new IOException("the copy of " + file.uri() + " has " + copied + " bytes and SHA-256 " + sha + "; expected "
                    + file.size() + " bytes and " + file.sha256() + ": the file changed since the job started, or the copy was corrupted");
        }
        Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
        double seconds = (System.nanoTime() - start) / 1e9;
        LOG.info("copied {} to {} in {} s ({} MB/s)", file.uri(), target, String.format("%.1f", seconds),
                String.format("%.0f", file.size() / 1e6 / Math.max(seconds, 1e-9)));
        appendLine(cacheDir.resolve(COPIES_LOG), Instant.now() + " host=" + host() + " pid=" + ProcessHandle.current().pid()
                + " uri=" + file.uri() + " bytes=" + copied + " seconds=" + String.format("%.3f", seconds));
    }

    /** Leftovers of a copy that died; safe to delete because we hold the lock. */
    private static void removePartials(Path dir) throws IOException {
        try (DirectoryStream<Path> partials = Files.newDirectoryStream(dir, PARTIAL + "*")) {
            for (Path p : partials) {
                LOG.warn("removing an unfinished model copy {}", p);
                Files.deleteIfExists(p);
            }
        }
    }

    /** One short line appended (O_APPEND: lines from several processes do not interleave). */
    static void appendLine(Path log, String line) throws IOException {
        Files.createDirectories(log.getParent());
        Files.writeString(log, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return ManagementFactory.getRuntimeMXBean().getName();
        }
    }
}

package dev.herd.spark.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** JVMs started by integration tests, each with its own log file, stopped by PID (children first). */
public final class Processes implements AutoCloseable {
    private final List<Process> started = new ArrayList<>();
    private final Path logDir;
    private final Map<String, String> env;

    public Processes(Path logDir, Map<String, String> env) {
        this.logDir = logDir;
        this.env = env;
    }

    /** Starts {@code java <flags> -cp <cp> <main> <args>} directly (so the Process is the JVM itself). */
    public Process java(String name, List<String> jvmArgs, String classpath, String main, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(classpath);
        cmd.add(main);
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log(name).toFile());
        pb.environment().putAll(env);
        try {
            Process p = pb.start();
            started.add(p);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Path log(String name) {
        return logDir.resolve(name + ".log");
    }

    public static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits until {@code condition} holds for the file's text, failing with the file's tail if it never does. */
    public static void await(Path file, Predicate<String> condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.test(read(file))) return;
            TimeUnit.MILLISECONDS.sleep(200);
        }
        String text = read(file);
        throw new AssertionError("timed out waiting for " + what + "; " + file + " ends with:\n" + text.substring(Math.max(0, text.length() - 4000)));
    }

    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static int count(String text, String needle) {
        return text.split(java.util.regex.Pattern.quote(needle), -1).length - 1;
    }

    /** Kills one process by PID (SIGKILL), as a crash would. */
    public static void kill(long pid) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }

    /** Stops every process this object started, and their children, by PID, newest first. */
    @Override
    public void close() {
        List<Process> reversed = new ArrayList<>(started);
        java.util.Collections.reverse(reversed);
        for (Process p : reversed) {
            List<ProcessHandle> children = p.descendants().toList();
            p.destroy();
            children.forEach(ProcessHandle::destroy);
        }
        for (Process p : reversed) {
            try {
                if (!p.waitFor(15, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            p.descendants().forEach(ProcessHandle::destroyForcibly);
        }
        started.clear();
    }

    public static List<String> split(String flags) {
        return Arrays.stream(flags.trim().split("\\s+")).filter(s -> !s.isEmpty()).toList();
    }
}

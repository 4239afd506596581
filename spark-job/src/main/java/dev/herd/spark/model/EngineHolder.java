package dev.herd.spark.model;

import dev.herd.engine.Engine;
import dev.herd.engine.EngineOptions;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The executor's engine: one per JVM, built on first use and shared by every task and partition
 * that runs there (never reloaded per task). Tasks hold a {@link Lease} while they use it; a job
 * with a different {@link EngineSpec} retires the old engine, which closes once its last lease
 * is returned.
 */
public final class EngineHolder {
    private static final Logger LOG = LoggerFactory.getLogger(EngineHolder.class);
    /** One line per engine built, with the JVM's pid; the cluster test counts them. */
    public static final String LOADS_LOG = "engine-loads.log";

    private static Loaded current;
    private static final AtomicInteger LOADS = new AtomicInteger();

    private EngineHolder() {}

    /** How many engines this JVM has built. */
    public static int loads() { return LOADS.get(); }

    public static synchronized Lease acquire(EngineSpec spec, Configuration conf) throws IOException {
        if (current == null || !current.spec.equals(spec)) {
            if (current != null) current.retire();
            current = load(spec, conf);
        }
        current.users++;
        return new Lease(current);
    }

    private static Loaded load(EngineSpec spec, Configuration conf) throws IOException {
        long start = System.nanoTime();
        ModelCache cache = new ModelCache(Path.of(spec.cacheDir()), conf);
        List<Path> parts = new ArrayList<>();
        for (ModelFile part : spec.parts()) parts.add(cache.localize(part));
        Path mmproj = spec.mmproj() == null ? null : cache.localize(spec.mmproj());
        EngineOptions options = spec.options(parts.getFirst(), mmproj);
        Engine engine = factory(spec.factory()).create(options);
        int n = LOADS.incrementAndGet();
        double seconds = (System.nanoTime() - start) / 1e9;
        LOG.info("engine #{} of this JVM ready in {} s: {} ({} threads, {} sequences in flight at most)", n,
                String.format("%.1f", seconds), parts.getFirst(), options.effectiveThreads(), options.maxSequences());
        ModelCache.appendLine(Path.of(spec.cacheDir()).resolve(LOADS_LOG), Instant.now() + " host=" + ModelCache.host()
                + " pid=" + ProcessHandle.current().pid() + " model=" + spec.parts().getFirst().uri()
                + " path=" + parts.getFirst() + " threads=" + options.effectiveThreads() + " seconds=" + String.format("%.3f", seconds));
        return new Loaded(spec, engine);
    }

    private static EngineFactory factory(String className) throws IOException {
        try {
            Class<?> type = Class.forName(className, true, Thread.currentThread().getContextClassLoader());
            return (EngineFactory) type.getDeclaredConstructor().newInstance();
        } catch (ClassNotFoundException | ClassCastException | NoSuchMethodException | InstantiationException
                 | IllegalAccessException | InvocationTargetException e) {
            throw new IOException("engine.factory " + className + " is not an EngineFactory with a public no-argument constructor: " + e, e);
        }
    }

    private static synchronized void release(Loaded loaded) {
        loaded.users--;
        if (loaded.retired && loaded.users == 0) loaded.engine.close();
    }

    private static final class Loaded {
        final EngineSpec spec;
        final Engine engine;
        int users;
        boolean retired;

        Loaded(EngineSpec spec, Engine engine) {
            this.spec = spec;
            this.engine = engine;
        }

        void retire() {
            retired = true;
            if (users == 0) engine.close();
        }
    }

    /** A task's use of the engine; close it when the task is done. */
    public static final class Lease implements AutoCloseable {
        private final Loaded loaded;
        private boolean closed;

        private Lease(Loaded loaded) {
            this.loaded = loaded;
        }

        public Engine engine() { return loaded.engine; }

        @Override
        public synchronized void close() {
            if (!closed) {
                closed = true;
                release(loaded);
            }
        }
    }
}

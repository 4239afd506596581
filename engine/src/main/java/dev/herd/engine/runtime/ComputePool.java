package dev.herd.engine.runtime;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A fixed set of compute threads for data-parallel loops ({@link #parallelFor}). The calling
 * thread works too, so a pool of {@code n} threads keeps {@code n} cores busy with {@code n - 1}
 * helpers. Work is split into tasks claimed from a shared counter, so which thread runs a task
 * never changes what the task computes.
 *
 * <p>Only one loop runs at a time (the engine's scheduler thread is the only caller).
 */
public final class ComputePool implements AutoCloseable {

    private final Thread[] workers;
    private final int threads;
    private volatile Job job;
    private volatile boolean closed;

    private static final class Job {
        final IntConsumer body;
        final int tasks;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Job(IntConsumer body, int tasks) {
            this.body = body;
            this.tasks = tasks;
        }

        void work() {
            int t;
            while ((t = next.getAndIncrement()) < tasks) {
                try {
                    if (failure == null) body.accept(t);
                } catch (Throwable e) {
                    failure = e;
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }

    public ComputePool(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1");
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = Thread.ofPlatform().daemon().name("herd-compute-" + (i + 1)).start(this::workerLoop);
        }
    }

    public int threads() { return threads; }

    /** How long an idle worker spins before parking: loops of a step come microseconds apart, a wake-up costs more. */
    private static final long SPIN_NANOS = 2_000_000;

    private void workerLoop() {
        Job seen = null;
        long idleSince = System.nanoTime();
        while (!closed) {
            Job j = job;
            if (j != null && j != seen) {
                seen = j;
                j.work();
                idleSince = System.nanoTime();
                continue;
            }
            if (System.nanoTime() - idleSince < SPIN_NANOS) {
                Thread.onSpinWait();
            } else {
                LockSupport.park(this);
            }
        }
    }

    /** Runs {@code body(task)} for every task in {@code [0, tasks)} across the pool and waits for all. */
    public void parallelFor(int tasks, IntConsumer body) {
        if (tasks <= 0) return;
        if (tasks == 1 || workers.length == 0) {
            for (int t = 0; t < tasks; t++) body.accept(t);
            return;
        }
        Job j = new Job(body, tasks);
        job = j;
        for (Thread w : workers) LockSupport.unpark(w);
        j.work();
        int spins = 0;
        while (j.done.get() < tasks) {
            if (++spins < 10_000) Thread.onSpinWait();
            else Thread.yield();
        }
        job = null;
        if (j.failure != null) {
            if (j.failure instanceof RuntimeException re) throw re;
            if (j.failure instanceof Error err) throw err;
            throw new IllegalStateException(j.failure);
        }
    }

    /**
     * Splits {@code [0, n)} into contiguous ranges of at least {@code minChunk} and runs
     * {@code body(start, end)} on each in parallel.
     */
    public void parallelRanges(int n, int minChunk, RangeBody body) {
        if (n <= 0) return;
        int chunk = Math.max(minChunk, (n + threads * 4 - 1) / (threads * 4));
        int tasks = (n + chunk - 1) / chunk;
        parallelFor(tasks, t -> body.run(t * chunk, Math.min(n, (t + 1) * chunk)));
    }

    @FunctionalInterface
    public interface RangeBody {
        void run(int start, int end);
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) LockSupport.unpark(w);
    }
}

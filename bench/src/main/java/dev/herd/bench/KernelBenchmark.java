package dev.herd.bench;

import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import dev.herd.engine.tensor.KernelPath;
import dev.herd.engine.tensor.Kernels;
import dev.herd.engine.tensor.RandomWeights;
import dev.herd.engine.tensor.WeightKernel;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.lang.foreign.MemorySegment;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One matmul of a ~64 MB matrix (rows of {@code n} values) by {@code batch} activation vectors,
 * split over {@code threads} threads by row ranges as the engine's {@code Linear} splits it. Besides
 * JMH's time per matmul, the {@link Rates} counters report weight bytes read per second (in GB/s:
 * what matters for one vector) and multiply-adds per second (in GFLOP/s, two per weight and vector:
 * what matters for a batch). Compare with this machine's limits: ~27 GB/s read on one thread,
 * ~31 GB/s on two; FP32 peak ~116 GFLOP/s per core.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class KernelBenchmark {

    @Param({"Q8_0", "Q4_K", "Q6_K"})
    public String type;

    @Param({"java", "native"})
    public String path;

    @Param({"1", "16"})
    public int batch;

    @Param({"1", "2"})
    public int threads;

    @Param({"4096"})
    public int n;

    private WeightKernel kernel;
    private MemorySegment w;
    private long rowBytes;
    private int rows;
    private EncodedActivations x;
    private float[] out;
    private ExecutorService pool;

    @Setup(Level.Trial)
    public void setUp() {
        GgmlType t = GgmlType.valueOf(type);
        kernel = Kernels.forType(t, KernelPath.valueOf(path.toUpperCase(Locale.ROOT)));
        rowBytes = t.rowBytes(n);
        rows = (int) ((64L << 20) / rowBytes);
        Random rnd = new Random(1);
        w = RandomWeights.matrix(t, rows, n, rnd);
        float[] src = new float[batch * n];
        for (int i = 0; i < batch; i++) System.arraycopy(RandomWeights.activations(n, rnd), 0, src, i * n, n);
        x = new EncodedActivations(kernel.activationEncoding(), n).encode(src, batch);
        out = new float[batch * rows];
        pool = threads > 1 ? Executors.newFixedThreadPool(threads - 1) : null;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (pool != null) pool.shutdownNow();
    }

    /** Per-second rates JMH reports next to the score: GB of weights read and GFLOP (2 per multiply-add). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Rates {
        public double weightGB;
        public double gflop;
    }

    @Benchmark
    public void matmul(Rates rates, Blackhole bh) throws Exception {
        // the engine's split: chunks of at least 16 rows, about four per thread
        int chunk = Math.max(16, (rows + threads * 4 - 1) / (threads * 4));
        int tasks = (rows + chunk - 1) / chunk;
        int perThread = (tasks + threads - 1) / threads;
        Future<?>[] others = new Future<?>[threads - 1];
        for (int i = 1; i < threads; i++) {
            int first = i * perThread;
            others[i - 1] = pool.submit(() -> run(first, Math.min(tasks, first + perThread), chunk));
        }
        run(0, Math.min(tasks, perThread), chunk);
        for (Future<?> f : others) f.get();
        bh.consume(out);
        rates.weightGB += (double) rows * rowBytes / 1e9;
        rates.gflop += 2.0 * rows * n * batch / 1e9;
    }

    private void run(int firstTask, int endTask, int chunk) {
        for (int task = firstTask; task < endTask; task++) {
            int start = task * chunk;
            kernel.matmul(w, rowBytes, start, Math.min(rows, start + chunk), x, out, rows);
        }
    }
}

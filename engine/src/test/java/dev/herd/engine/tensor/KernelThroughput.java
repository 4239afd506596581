package dev.herd.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Random;

/**
 * Manual throughput probe (not a test): single-threaded matmuls over a ~64 MB random matrix,
 * timed in thread CPU time (the build machine is shared, wall time is meaningless there).
 * {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp <test-classes>:<classes>
 * dev.herd.engine.tensor.KernelThroughput Q4_K [batch] [java|native]}
 */
public final class KernelThroughput {
    public static void main(String[] args) {
        GgmlType type = GgmlType.valueOf(args[0]);
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        int n = 4096;
        long rowBytes = type.rowBytes(n);
        int rows = (int) ((64L << 20) / rowBytes);
        KernelPath path = args.length > 2 ? KernelPath.valueOf(args[2].toUpperCase(java.util.Locale.ROOT)) : KernelPath.JAVA;
        WeightKernel kernel = Kernels.forType(type, path);
        MemorySegment w = RandomWeights.matrix(type, rows, n, new Random(1));
        float[] src = new float[batch * n];
        Random rnd = new Random(2);
        for (int i = 0; i < src.length; i++) src[i] = (float) rnd.nextGaussian();
        EncodedActivations x = new EncodedActivations(kernel.activationEncoding(), n).encode(src, batch);
        float[] out = new float[batch * rows];
        int chunk = 64;
        double best = Double.MAX_VALUE;
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long allocated = 0;
        for (int rep = 0; rep < 12; rep++) {
            if (rep == 11) allocated = threads.getCurrentThreadAllocatedBytes();
            long t0 = threads.getCurrentThreadCpuTime();
            for (int r = 0; r < rows; r += chunk) kernel.matmul(w, rowBytes, r, Math.min(rows, r + chunk), x, out, rows);
            best = Math.min(best, (threads.getCurrentThreadCpuTime() - t0) / 1e9);
        }
        allocated = threads.getCurrentThreadAllocatedBytes() - allocated;
        double bytes = (double) rows * rowBytes;
        System.out.printf("%s %s batch %d: %.1f MB matrix, best %.2f ms, %.2f GB/s weights, %.1f GFLOP/s, last pass allocated %d KB%n",
                type, path, batch, bytes / 1e6, best * 1e3, bytes / best / 1e9, 2.0 * rows * n * batch / best / 1e9, allocated >> 10);
    }
}

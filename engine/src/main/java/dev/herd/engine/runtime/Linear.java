package dev.herd.engine.runtime;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.Tensor;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Matrix products of weight tensors with batches of activations, spread over the compute pool by
 * output rows. Each output element is computed by one kernel call whatever the split, so results
 * do not depend on the thread count or the batch.
 *
 * <p>Encoded activation buffers are kept per call site and reused, so a step allocates none once
 * the batch sizes have been seen. Not thread-safe: one per model, used by the scheduler thread.
 */
public final class Linear {

    private static final int MIN_ROWS_PER_TASK = 16;
    /** Vectors encoded per task: a hand-off costs more than encoding a few vectors. */
    private static final int MIN_VECTORS_PER_TASK = 8;

    private final ComputePool pool;
    private final Map<BufferKey, EncodedActivations> buffers = new HashMap<>();

    /** A call site's buffer: one per slot, encoding and vector length (a record, not a concatenated string: this runs per matmul). */
    private record BufferKey(String slot, ActivationEncoding encoding, int length) {}

    public Linear(ComputePool pool) {
        this.pool = pool;
    }

    public ComputePool pool() { return pool; }

    /**
     * Encodes {@code count} vectors of {@code length} floats (back to back in {@code x}) for the
     * weight's kernel, into the buffer named {@code slot}.
     */
    public EncodedActivations encode(String slot, Tensor weight, float[] x, int count, int length) {
        ActivationEncoding enc = weight.kernel().activationEncoding();
        EncodedActivations buf = buffers.computeIfAbsent(new BufferKey(slot, enc, length), k -> new EncodedActivations(enc, length));
        buf.prepare(count);
        pool.parallelRanges(count, MIN_VECTORS_PER_TASK, (s, e) -> {
            for (int t = s; t < e; t++) buf.encodeVector(x, t * length, t);
        });
        return buf;
    }

    /** {@code out[t * rows + r] = weight row r · x[t]} for every row of the weight. */
    public void matmul(Tensor weight, EncodedActivations x, float[] out) {
        matmulAll(List.of(new Product(weight, x, out)));
    }

    /** One matrix product: {@code out[t * rows + r] = weight row r · x[t]}. */
    public record Product(Tensor weight, EncodedActivations x, float[] out) {
        public Product {
            if (weight.kernel().activationEncoding() != x.encoding()) {
                throw new IllegalArgumentException(weight.name() + " needs " + weight.kernel().activationEncoding() + " activations, got " + x.encoding());
            }
            if (weight.rowLength() != x.length()) {
                throw new IllegalArgumentException(weight.name() + " rows have " + weight.rowLength() + " values, activations " + x.length());
            }
        }
    }

    /**
     * Independent products in one parallel loop: one hand-off and one wait for all of them (a
     * decode step runs hundreds of small products, and each loop's end waits for its slowest
     * range).
     *
     * <p>Products of one to {@value #GUIDED_MAX_VECTORS} vectors, which stream their weights once
     * and cost the same per row, are cut into ranges that shrink round by round (each round hands
     * every thread a range of 1/(2 × threads) of the rows left): few ranges, and small ones last,
     * so a thread that runs out of work waits for at most a small range. Batches keep equal ranges
     * of a quarter of a thread's share: a tile kernel's per-call work grows with the calls.
     */
    public void matmulAll(List<Product> products) {
        int tasks = 0;
        for (int i = 0; i < products.size(); i++) {
            Product p = products.get(i);
            int rows = Math.toIntExact(p.weight().rows()), threads = pool.threads();
            if (threads > 1 && p.x().count() <= GUIDED_MAX_VECTORS) {
                for (int start = 0; start < rows; ) {
                    int size = Math.max(MIN_ROWS_PER_TASK, (rows - start + 2 * threads - 1) / (2 * threads));
                    for (int k = 0; k < threads && start < rows; k++, start += size) tasks = addTask(tasks, i, start, Math.min(rows, start + size));
                }
            } else {
                int chunk = Math.max(MIN_ROWS_PER_TASK, (rows + threads * 4 - 1) / (threads * 4));
                for (int start = 0; start < rows; start += chunk) tasks = addTask(tasks, i, start, Math.min(rows, start + chunk));
            }
        }
        int[] product = taskProduct, start = taskStart, end = taskEnd;
        pool.parallelFor(tasks, task -> {
            Product p = products.get(product[task]);
            p.weight().kernel().matmul(p.weight().data(), p.weight().rowBytes(), start[task], end[task], p.x(), p.out(), Math.toIntExact(p.weight().rows()));
        });
    }

    /** Products with at most this many vectors get shrinking row ranges (see {@link #matmulAll}). */
    static final int GUIDED_MAX_VECTORS = 3;

    /** Row ranges of the current {@link #matmulAll}: product index, first row, end row (reused, grown on demand). */
    private int[] taskProduct = new int[64], taskStart = new int[64], taskEnd = new int[64];

    private int addTask(int tasks, int product, int start, int end) {
        if (tasks == taskProduct.length) {
            taskProduct = Arrays.copyOf(taskProduct, tasks * 2);
            taskStart = Arrays.copyOf(taskStart, tasks * 2);
            taskEnd = Arrays.copyOf(taskEnd, tasks * 2);
        }
        taskProduct[tasks] = product;
        taskStart[tasks] = start;
        taskEnd[tasks] = end;
        return tasks + 1;
    }

    /** Encode then multiply, for a weight whose input is used once. */
    public void apply(String slot, Tensor weight, float[] x, int count, float[] out) {
        matmul(weight, encode(slot, weight, x, count, weight.rowLength()), out);
    }
}

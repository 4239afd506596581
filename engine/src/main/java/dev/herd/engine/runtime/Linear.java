package dev.herd.engine.runtime;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.Tensor;

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
     * Independent products in one parallel loop, each split into row ranges as if alone: one
     * hand-off and one wait for all of them (a decode step runs hundreds of small products, and
     * each loop's end waits for its slowest range).
     */
    public void matmulAll(List<Product> products) {
        int[] firstTask = new int[products.size() + 1];
        int[] chunks = new int[products.size()];
        for (int i = 0; i < products.size(); i++) {
            int rows = Math.toIntExact(products.get(i).weight().rows());
            chunks[i] = Math.max(MIN_ROWS_PER_TASK, (rows + pool.threads() * 4 - 1) / (pool.threads() * 4));
            firstTask[i + 1] = firstTask[i] + (rows + chunks[i] - 1) / chunks[i];
        }
        pool.parallelFor(firstTask[products.size()], task -> {
            int i = 0;
            while (task >= firstTask[i + 1]) i++;
            Product p = products.get(i);
            int rows = Math.toIntExact(p.weight().rows()), start = (task - firstTask[i]) * chunks[i];
            p.weight().kernel().matmul(p.weight().data(), p.weight().rowBytes(), start, Math.min(rows, start + chunks[i]), p.x(), p.out(), rows);
        });
    }

    /** Encode then multiply, for a weight whose input is used once. */
    public void apply(String slot, Tensor weight, float[] x, int count, float[] out) {
        matmul(weight, encode(slot, weight, x, count, weight.rowLength()), out);
    }
}

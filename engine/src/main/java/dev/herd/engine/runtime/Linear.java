package dev.herd.engine.runtime;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.Tensor;
import dev.herd.engine.tensor.WeightKernel;

import java.util.HashMap;
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
        if (count > 1) {
            buf.prepare(count);
            pool.parallelFor(count, t -> buf.encodeVector(x, t * length, t));
            return buf;
        }
        return buf.encode(x, count);
    }

    /** {@code out[t * rows + r] = weight row r · x[t]} for every row of the weight. */
    public void matmul(Tensor weight, EncodedActivations x, float[] out) {
        WeightKernel k = weight.kernel();
        if (k.activationEncoding() != x.encoding()) {
            throw new IllegalArgumentException(weight.name() + " needs " + k.activationEncoding() + " activations, got " + x.encoding());
        }
        if (weight.rowLength() != x.length()) {
            throw new IllegalArgumentException(weight.name() + " rows have " + weight.rowLength() + " values, activations " + x.length());
        }
        int rows = Math.toIntExact(weight.rows());
        long rowBytes = weight.rowBytes();
        pool.parallelRanges(rows, MIN_ROWS_PER_TASK, (s, e) -> k.matmul(weight.data(), rowBytes, s, e, x, out, rows));
    }

    /** Encode then multiply, for a weight whose input is used once. */
    public void apply(String slot, Tensor weight, float[] x, int count, float[] out) {
        matmul(weight, encode(slot, weight, x, count, weight.rowLength()), out);
    }
}

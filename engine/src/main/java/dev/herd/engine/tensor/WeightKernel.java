package dev.herd.engine.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The compute for one weight type: decoding rows and multiplying a matrix by a batch of
 * activation vectors. One implementation per {@link GgmlType}, stateless and thread-safe.
 *
 * <p>Batch invariance: {@link #matmul} must compute each output element with the same sequence
 * of operations whatever the batch size, the row range or the element's position in the batch,
 * so a sequence's results never depend on what it was batched with.
 */
public interface WeightKernel {

    GgmlType type();

    /** The encoding {@link #matmul} wants its activations in. */
    ActivationEncoding activationEncoding();

    /** Decodes {@code count} values (a multiple of the block size) starting at {@code byteOffset}. */
    void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count);

    /**
     * {@code out[t * outStride + r] = dot(row r of w, vector t of x)} for rows
     * {@code [rowStart, rowEnd)} and every vector of {@code x}. Rows are {@code rowBytes} apart
     * from the start of {@code w}; each is {@code x.length()} values long.
     */
    void matmul(MemorySegment w, long rowBytes, int rowStart, int rowEnd, EncodedActivations x, float[] out, int outStride);
}

package dev.herd.engine.runtime;

/**
 * A decoder-only model the scheduler can step: one batched forward pass over tokens of many
 * sequences, writing their keys and values to the KV cache.
 */
public interface TextModel extends AutoCloseable {

    int vocabSize();

    int contextLength();

    /** Layers and floats per position per layer the KV cache must hold. */
    int layers();

    int kvDim();

    /** Width of an input embedding (what an image's patch embeddings must match). */
    int embeddingDim();

    /**
     * Runs the batch and returns the logits of the rows that asked for them, in row order,
     * {@code vocabSize()} floats each. The array may be longer than that and is reused: it is valid
     * until the next call.
     */
    float[] forward(Batch batch, RoutingTrace trace);

    /** Receives each MoE layer's expert choice per batch row (for tests and diagnostics); may be null. */
    @FunctionalInterface
    interface RoutingTrace {
        void experts(int layer, int row, int[] chosen, float[] routerLogits);
    }

    @Override
    void close();
}

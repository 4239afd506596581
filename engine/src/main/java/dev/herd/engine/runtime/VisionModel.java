package dev.herd.engine.runtime;

import java.util.function.ToIntFunction;

/** A vision tower the engine feeds images through (early fusion: image tokens in the text sequence). */
public interface VisionModel extends AutoCloseable {

    /** An image decoded and tiled, with its prompt tokens; its embeddings are computed on demand. */
    interface PreparedImage {
        /** The image's tokens in the prompt. */
        int[] layoutIds();

        /** The token id whose positions take the image's embeddings, one each, in order. */
        int embeddingToken();

        /** {@code [n embedding tokens][embeddingDim]}; compute-heavy, run by the scheduler. */
        float[] embed();
    }

    /**
     * Decodes and tiles an image (cheap; runs on the caller's thread).
     *
     * @throws RuntimeException with a message naming the image when it cannot be read
     */
    PreparedImage prepare(byte[] encoded, String name, ToIntFunction<String> specialTokenId);

    int embeddingDim();

    @Override
    void close();
}

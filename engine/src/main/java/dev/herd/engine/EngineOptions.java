package dev.herd.engine;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How to load and run a model.
 *
 * @param model           the GGUF file (for split files, the first part: {@code name-00001-of-0000N.gguf})
 * @param mmproj          the vision projector GGUF, or null for text only
 * @param threads         compute threads (0 = all available processors)
 * @param kvCacheBytes    memory budget for the KV cache of all sequences in flight (0 = default)
 * @param maxBatchTokens  most tokens (prefill + decode) processed in one scheduler step
 * @param maxSequences    most sequences in flight at once
 * @param contextLength   context window per sequence (0 = the model's training context)
 * @param kvCacheType     how the KV cache stores keys and values (f32 by default)
 */
public record EngineOptions(Path model, Path mmproj, int threads, long kvCacheBytes,
                            int maxBatchTokens, int maxSequences, int contextLength, KvCacheType kvCacheType) {

    public static final long DEFAULT_KV_CACHE_BYTES = 1L << 30;

    public EngineOptions {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(kvCacheType, "kvCacheType");
        if (threads < 0) throw new IllegalArgumentException("threads must be >= 0, got " + threads);
        if (kvCacheBytes < 0) throw new IllegalArgumentException("kvCacheBytes must be >= 0, got " + kvCacheBytes);
        if (maxBatchTokens < 1) throw new IllegalArgumentException("maxBatchTokens must be >= 1, got " + maxBatchTokens);
        if (maxSequences < 1) throw new IllegalArgumentException("maxSequences must be >= 1, got " + maxSequences);
        if (contextLength < 0) throw new IllegalArgumentException("contextLength must be >= 0, got " + contextLength);
    }

    /** Defaults: all cores, 1 GiB of f32 KV cache, 512-token steps, 64 sequences, the model's context. */
    public static EngineOptions of(Path model) {
        return new EngineOptions(model, null, 0, DEFAULT_KV_CACHE_BYTES, 512, 64, 0, KvCacheType.F32);
    }

    public EngineOptions withMmproj(Path path) { return new EngineOptions(model, path, threads, kvCacheBytes, maxBatchTokens, maxSequences, contextLength, kvCacheType); }
    public EngineOptions withThreads(int n) { return new EngineOptions(model, mmproj, n, kvCacheBytes, maxBatchTokens, maxSequences, contextLength, kvCacheType); }
    public EngineOptions withKvCacheBytes(long bytes) { return new EngineOptions(model, mmproj, threads, bytes, maxBatchTokens, maxSequences, contextLength, kvCacheType); }
    public EngineOptions withMaxBatchTokens(int n) { return new EngineOptions(model, mmproj, threads, kvCacheBytes, n, maxSequences, contextLength, kvCacheType); }
    public EngineOptions withMaxSequences(int n) { return new EngineOptions(model, mmproj, threads, kvCacheBytes, maxBatchTokens, n, contextLength, kvCacheType); }
    public EngineOptions withContextLength(int n) { return new EngineOptions(model, mmproj, threads, kvCacheBytes, maxBatchTokens, maxSequences, n, kvCacheType); }

    public EngineOptions withKvCacheType(KvCacheType t) { return new EngineOptions(model, mmproj, threads, kvCacheBytes, maxBatchTokens, maxSequences, contextLength, t); }

    public int effectiveThreads() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}

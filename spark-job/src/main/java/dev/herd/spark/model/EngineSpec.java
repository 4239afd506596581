package dev.herd.spark.model;

import dev.herd.engine.EngineOptions;
import dev.herd.engine.KvCacheType;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;

/**
 * What the driver broadcasts so every executor can build the same engine: the model files'
 * handles (URI, size, checksum: never weights) and the options that matter. Equal specs share
 * one engine per JVM.
 *
 * @param parts             the model file, or every part of a split GGUF in order
 * @param mmproj            the vision projector, or null
 * @param cacheDir          node-local directory for copies of remote files
 * @param factory           class name of the {@link EngineFactory}
 * @param threads           engine compute threads; 0 = the executor's cores
 * @param executorCores     cores of one executor when the driver knows them, else 0
 * @param taskCpus          {@code spark.task.cpus}
 * @param maxSequences      0 = enough for every task on the executor to keep its batches in flight
 * @param sequencesPerTask  batch_size × batches_in_flight
 * @param kvCacheType       how the KV cache stores keys and values (null = f32)
 */
public record EngineSpec(List<ModelFile> parts, ModelFile mmproj, String cacheDir, String factory,
                         int threads, int executorCores, int taskCpus, int maxSequences, int sequencesPerTask,
                         int maxBatchTokens, long kvCacheBytes, int contextLength, KvCacheType kvCacheType)
        implements Serializable {

    public EngineSpec {
        parts = List.copyOf(parts);
        if (kvCacheType == null) kvCacheType = KvCacheType.F32;
        if (parts.isEmpty()) throw new IllegalArgumentException("a model needs at least one file");
    }

    /** The model's checksum: the file's SHA-256, or for a split model the SHA-256 of its parts' hex digests joined. */
    public String sha256() {
        if (parts.size() == 1) return parts.getFirst().sha256();
        StringBuilder joined = new StringBuilder();
        parts.forEach(p -> joined.append(p.sha256()));
        return HexFormat.of().formatHex(ChecksumMemo.sha256().digest(joined.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
    }

    /** The engine options for this node, given where the files are on it. */
    EngineOptions options(Path model, Path localMmproj) {
        int cores = executorCores > 0 ? executorCores : Runtime.getRuntime().availableProcessors();
        int tasks = Math.max(1, cores / Math.max(1, taskCpus));
        EngineOptions options = new EngineOptions(model, localMmproj, threads > 0 ? threads : cores,
                kvCacheBytes > 0 ? kvCacheBytes : EngineOptions.DEFAULT_KV_CACHE_BYTES, maxBatchTokens,
                maxSequences > 0 ? maxSequences : tasks * sequencesPerTask, contextLength, kvCacheType);
        return options;
    }
}

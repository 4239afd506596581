package dev.herd.cli;

import dev.herd.engine.EngineOptions;
import dev.herd.engine.KvCacheType;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;

/** Options shared by the commands that load a model. */
final class ModelOptions {

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE", description = "GGUF model file (first part of a split model)")
    Path model;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "compute threads (default: all cores)")
    int threads;

    @Option(names = {"-c", "--ctx-size"}, paramLabel = "N", description = "context window (default: the model's)")
    int contextLength;

    @Option(names = "--kv-cache-mib", paramLabel = "MIB", description = "KV cache budget in MiB (default: 1024)")
    long kvCacheMib;

    @Option(names = "--kv-cache-type", defaultValue = "f32", paramLabel = "TYPE",
            description = "KV cache element type: f32 or f16 (f16 halves its memory; default: f32)")
    String kvCacheType;

    EngineOptions engineOptions() {
        if (!Files.isRegularFile(model)) throw new CliException("model file not found: " + model);
        if (threads < 0) throw new CliException("--threads must be >= 0");
        if (contextLength < 0) throw new CliException("--ctx-size must be >= 0");
        EngineOptions o = EngineOptions.of(model).withThreads(threads).withContextLength(contextLength)
                .withKvCacheType(parseKvCacheType(kvCacheType));
        return kvCacheMib > 0 ? o.withKvCacheBytes(kvCacheMib << 20) : o;
    }

    /** {@code f32} or {@code f16} (any case), for {@code --kv-cache-type}. */
    static KvCacheType parseKvCacheType(String text) {
        try {
            return KvCacheType.parse(text);
        } catch (IllegalArgumentException e) {
            throw new CliException("--kv-cache-type: " + e.getMessage());
        }
    }

    /** Parses {@code 1,2,3} (spaces allowed). */
    static int[] parseIds(String text, String option) {
        String trimmed = text.strip();
        if (trimmed.isEmpty()) throw new CliException(option + " needs at least one token id");
        String[] parts = trimmed.split("\\s*,\\s*");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new CliException(option + ": '" + parts[i] + "' is not a token id (expected comma-separated integers)");
            }
        }
        return ids;
    }
}

package dev.herd.spark.config;

import dev.herd.engine.ContextOverflowPolicy;
import dev.herd.engine.KvCacheType;

import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A job description, parsed and checked on its own (file and column checks need Spark and come
 * later, in {@code JobPlan}). Every key is documented in {@code conf/example-generate.yaml}.
 */
public record JobConfig(Input input, Output output, Model model, Mode mode, PromptSpec prompt,
                        String contextColumn, String continuationColumn, Image image, String idColumn,
                        Sampling sampling, int logprobs, boolean tokenLogprobs, int batchSize,
                        int batchesInFlight, int chunkRows, int partitions, boolean resume,
                        ErrorPolicy errorPolicy, ContextOverflowPolicy maxContextPolicy,
                        EngineSettings engine, int showRows, Map<String, String> resultKeys)
        implements Serializable {

    public enum Mode { GENERATE, SCORE, CAPTION }

    public enum InputFormat { PARQUET, JSONL, CSV, IMAGES }

    public enum ErrorPolicy { SKIP, FAIL }

    public record Input(String path, InputFormat format, Map<String, String> options, String schema) implements Serializable {}

    public record Output(String path, List<String> columns, boolean overwrite) implements Serializable {}

    /** @param cacheDir node-local directory for copies of remote model files */
    public record Model(String path, String mmproj, String cacheDir, String name) implements Serializable {}

    public record PromptSpec(String column, String template, boolean chat, String system, boolean parseSpecial) implements Serializable {}

    public record Image(String column, String basePath, long maxBytes) implements Serializable {}

    public record Sampling(double temperature, int topK, double topP, double minP, double repetitionPenalty,
                           int maxTokens, long seed, List<String> stop) implements Serializable {}

    /**
     * Zero means "choose for me" (see the README's sizing section); factory names an {@code EngineFactory};
     * kvCacheType is how the KV cache stores keys and values (f32 by default).
     */
    public record EngineSettings(int threads, int maxSequences, int maxBatchTokens, int kvCacheMb,
                                 int contextLength, String factory, KvCacheType kvCacheType) implements Serializable {}

    public static final String DEFAULT_ENGINE_FACTORY = "dev.herd.spark.model.EngineFactory$Default";

    /** Keys whose value changes what a row's result is: a resumed job must use the same ones. */
    private static final List<String> RESULT_KEYS = List.of("mode", "prompt.column", "prompt.template", "prompt.chat",
            "prompt.system", "prompt.parse_special", "context.column", "continuation.column", "image.column",
            "image.base_path", "id_column", "sampling.temperature", "sampling.top_k", "sampling.top_p",
            "sampling.min_p", "sampling.repetition_penalty", "sampling.max_tokens", "sampling.seed",
            "sampling.stop", "logprobs", "token_logprobs", "max_context_policy", "engine.context_length",
            "output.columns");

    /** Reads a YAML job description and applies {@code key=value} overrides. */
    public static JobConfig load(Path yaml, List<String> overrides) {
        String text;
        try {
            text = Files.readString(yaml, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException("cannot read the job description " + yaml + ": " + e);
        }
        return parse(text, yaml.toString(), overrides);
    }

    public static JobConfig parse(String yaml, String source, List<String> overrides) {
        RawConfig raw = RawConfig.parse(yaml, source, overrides);
        return new Builder(raw).build();
    }

    private static final class Builder {
        private final RawConfig raw;
        private final List<String> problems;

        Builder(RawConfig raw) {
            this.raw = raw;
            this.problems = raw.problems;
        }

        JobConfig build() {
            Mode mode = Mode.valueOf(str("mode", "generate").toUpperCase(Locale.ROOT));
            String inputPath = required("input.path");
            InputFormat format = inputFormat(inputPath);
            Input input = new Input(inputPath, format, map("input.options"), str("input.schema", null));
            Output output = new Output(required("output.path"), list("output.columns"), bool("output.overwrite", false));
            Model model = new Model(required("model.path"), str("model.mmproj", null),
                    str("model.cache_dir", Path.of(System.getProperty("java.io.tmpdir"), "herd-model-cache").toString()),
                    str("model.name", null));
            PromptSpec prompt = new PromptSpec(str("prompt.column", null), str("prompt.template", null),
                    bool("prompt.chat", false), str("prompt.system", null), bool("prompt.parse_special", false));
            Image image = new Image(str("image.column", format == InputFormat.IMAGES ? "path" : null),
                    str("image.base_path", null), positiveLong("image.max_bytes", 64L << 20));
            Sampling sampling = new Sampling(
                    number("sampling.temperature", 0.0, 0, Double.MAX_VALUE, "must be >= 0"),
                    nonNegative("sampling.top_k", 0),
                    number("sampling.top_p", 1.0, Double.MIN_VALUE, 1, "must be in (0, 1]"),
                    number("sampling.min_p", 0.0, 0, 1, "must be in [0, 1]"),
                    number("sampling.repetition_penalty", 1.0, Double.MIN_VALUE, Double.MAX_VALUE, "must be > 0"),
                    nonNegative("sampling.max_tokens", 128),
                    lng("sampling.seed", 0L),
                    list("sampling.stop"));
            EngineSettings engine = new EngineSettings(nonNegative("engine.threads", 0), nonNegative("engine.max_sequences", 0),
                    positive("engine.max_batch_tokens", 512), nonNegative("engine.kv_cache_mb", 0),
                    nonNegative("engine.context_length", 0), str("engine.factory", DEFAULT_ENGINE_FACTORY),
                    KvCacheType.parse(str("engine.kv_cache_type", KvCacheType.F32.id())));
            String errorPolicy = str("error_policy", "skip");
            String overflow = str("max_context_policy", "error");
            checkMode(mode, format, prompt, image, model);

            JobConfig config = new JobConfig(input, output, model, mode, prompt, str("context.column", null),
                    str("continuation.column", null), image, str("id_column", null), sampling,
                    nonNegative("logprobs", 0), bool("token_logprobs", false), positive("batch_size", 8),
                    positive("batches_in_flight", 2), positive("chunk_rows", 10_000), nonNegative("partitions", 0),
                    bool("resume", false), ErrorPolicy.valueOf(errorPolicy.toUpperCase(Locale.ROOT)),
                    ContextOverflowPolicy.valueOf(overflow.toUpperCase(Locale.ROOT)), engine, nonNegative("show_rows", 0),
                    resultKeys(mode, prompt, image, sampling, overflow, engine));
            if (!problems.isEmpty()) throw new ConfigException(problems);
            return config;
        }

        private void checkMode(Mode mode, InputFormat format, PromptSpec prompt, Image image, Model model) {
            String m = mode.name().toLowerCase(Locale.ROOT);
            switch (mode) {
                case GENERATE, CAPTION -> {
                    if (prompt.column() != null && prompt.template() != null) {
                        problems.add("set prompt.column or prompt.template, not both");
                    }
                    if (mode == Mode.GENERATE && prompt.column() == null && prompt.template() == null) {
                        problems.add("mode generate needs prompt.column or prompt.template");
                    }
                    for (String k : List.of("context.column", "continuation.column", "token_logprobs")) notFor(k, m);
                    if (prompt.system() != null && !prompt.chat()) {
                        problems.add("prompt.system needs prompt.chat: true (a system turn only exists in a chat template)");
                    }
                }
                case SCORE -> {
                    if (!raw.values.containsKey("context.column")) problems.add("mode score needs context.column");
                    if (!raw.values.containsKey("continuation.column")) problems.add("mode score needs continuation.column");
                    for (String k : List.of("prompt.column", "prompt.template", "prompt.system",
                            "prompt.parse_special", "logprobs")) notFor(k, m);
                    raw.values.keySet().stream().filter(k -> k.startsWith("sampling.")).sorted().forEach(k -> notFor(k, m));
                }
            }
            if (mode == Mode.CAPTION) {
                if (image.column() == null) problems.add("mode caption needs image.column (or input.format: images)");
                if (model.mmproj() == null) problems.add("mode caption needs model.mmproj (the vision projector GGUF)");
            } else if (mode == Mode.SCORE && image.column() != null) {
                // Scoring answers about an image (multiple choice): the image goes with the context.
                if (model.mmproj() == null) problems.add("image.column in mode score needs model.mmproj (the vision projector GGUF)");
            } else {
                for (String k : List.of("image.column", "image.base_path", "image.max_bytes")) notFor(k, m);
                if (format == InputFormat.IMAGES) problems.add("input.format images needs mode caption, got mode " + m);
            }
        }

        private void notFor(String key, String mode) {
            if (raw.values.containsKey(key)) problems.add(key + " does not apply to mode " + mode);
        }

        private InputFormat inputFormat(String path) {
            String given = str("input.format", null);
            if (given != null) return InputFormat.valueOf(given.toUpperCase(Locale.ROOT));
            if (path == null) return InputFormat.PARQUET;
            String lower = path.toLowerCase(Locale.ROOT);
            if (lower.endsWith(".parquet")) return InputFormat.PARQUET;
            if (lower.endsWith(".jsonl") || lower.endsWith(".json")) return InputFormat.JSONL;
            if (lower.endsWith(".csv")) return InputFormat.CSV;
            problems.add("input.format is not set and cannot be told from '" + path + "': set it to parquet, jsonl, csv or images");
            return InputFormat.PARQUET;
        }

        private Map<String, String> resultKeys(Mode mode, PromptSpec prompt, Image image, Sampling sampling, String overflow,
                                               EngineSettings engine) {
            Map<String, String> keys = new TreeMap<>();
            for (String k : RESULT_KEYS) {
                Object v = raw.values.get(k);
                if (v != null) keys.put(k, String.valueOf(v));
            }
            keys.put("mode", mode.name().toLowerCase(Locale.ROOT));
            keys.put("max_context_policy", overflow);
            if (mode != Mode.SCORE) {
                keys.put("prompt.chat", String.valueOf(prompt.chat()));
                keys.put("sampling.temperature", String.valueOf(sampling.temperature()));
                keys.put("sampling.top_k", String.valueOf(sampling.topK()));
                keys.put("sampling.top_p", String.valueOf(sampling.topP()));
                keys.put("sampling.min_p", String.valueOf(sampling.minP()));
                keys.put("sampling.repetition_penalty", String.valueOf(sampling.repetitionPenalty()));
                keys.put("sampling.max_tokens", String.valueOf(sampling.maxTokens()));
                keys.put("sampling.seed", String.valueOf(sampling.seed()));
            }
            if (mode == Mode.SCORE) keys.put("prompt.chat", String.valueOf(prompt.chat()));
            if (image.column() != null && mode != Mode.GENERATE) keys.put("image.column", image.column());
            // f16 rounds every key and value, so its results differ from f32's; f32 (the default) is
            // left out so that outputs written before this key existed still resume.
            if (engine.kvCacheType() != KvCacheType.F32) keys.put("engine.kv_cache_type", engine.kvCacheType().id());
            return keys;
        }

        private String required(String key) {
            String v = str(key, null);
            if (v == null || v.isBlank()) {
                if (!raw.problems.stream().anyMatch(p -> p.contains(key))) problems.add(key + " is required");
            }
            return v;
        }

        private String str(String key, String fallback) {
            Object v = raw.values.get(key);
            return v == null ? fallback : (String) v;
        }

        private boolean bool(String key, boolean fallback) {
            Object v = raw.values.get(key);
            return v == null ? fallback : (Boolean) v;
        }

        private long lng(String key, long fallback) {
            Object v = raw.values.get(key);
            return v == null ? fallback : (Long) v;
        }

        private int positive(String key, int fallback) {
            int v = integer(key, fallback);
            if (v < 1) problems.add(key + " must be >= 1, got " + v);
            return v;
        }

        private int nonNegative(String key, int fallback) {
            int v = integer(key, fallback);
            if (v < 0) problems.add(key + " must be >= 0, got " + v);
            return v;
        }

        private long positiveLong(String key, long fallback) {
            long v = lng(key, fallback);
            if (v < 1) problems.add(key + " must be >= 1, got " + v);
            return v;
        }

        private int integer(String key, int fallback) {
            Object v = raw.values.get(key);
            return v == null ? fallback : (Integer) v;
        }

        private double number(String key, double fallback, double min, double max, String rule) {
            Object v = raw.values.get(key);
            double d = v == null ? fallback : (Double) v;
            if (!(d >= min && d <= max)) problems.add(key + " " + rule + ", got " + d);
            return d;
        }

        @SuppressWarnings("unchecked")
        private List<String> list(String key) {
            Object v = raw.values.get(key);
            return v == null ? List.of() : List.copyOf((List<String>) v);
        }

        @SuppressWarnings("unchecked")
        private Map<String, String> map(String key) {
            Object v = raw.values.get(key);
            return v == null ? Map.of() : Map.copyOf((Map<String, String>) v);
        }
    }
}

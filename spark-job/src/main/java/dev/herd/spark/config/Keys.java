package dev.herd.spark.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Every key a job description may use, with its type: the contract {@link JobConfig} parses against. */
final class Keys {
    private Keys() {}

    /** ENUM_ANY_CASE: one of the values in any case, read as the lower-case value. */
    enum Type { STRING, INT, LONG, NUMBER, BOOL, ENUM, ENUM_ANY_CASE, STRING_LIST, STRING_MAP }

    record Spec(Type type, List<String> values) {
        String describe() {
            return switch (type) {
                case STRING -> "a string";
                case INT, LONG -> "an integer";
                case NUMBER -> "a number";
                case BOOL -> "true or false";
                case ENUM, ENUM_ANY_CASE -> "one of " + String.join("|", values);
                case STRING_LIST -> "a list of strings";
                case STRING_MAP -> "a map of names to values";
            };
        }
    }

    static final Map<String, Spec> ALL = new LinkedHashMap<>();

    private static void key(String name, Type type, String... values) {
        ALL.put(name, new Spec(type, List.of(values)));
    }

    static {
        key("input.path", Type.STRING);
        key("input.format", Type.ENUM, "parquet", "jsonl", "csv", "images");
        key("input.options", Type.STRING_MAP);
        key("input.schema", Type.STRING);
        key("output.path", Type.STRING);
        key("output.columns", Type.STRING_LIST);
        key("output.overwrite", Type.BOOL);
        key("model.path", Type.STRING);
        key("model.mmproj", Type.STRING);
        key("model.cache_dir", Type.STRING);
        key("model.name", Type.STRING);
        key("mode", Type.ENUM, "generate", "score", "caption");
        key("prompt.column", Type.STRING);
        key("prompt.template", Type.STRING);
        key("prompt.chat", Type.BOOL);
        key("prompt.system", Type.STRING);
        key("prompt.parse_special", Type.BOOL);
        key("context.column", Type.STRING);
        key("continuation.column", Type.STRING);
        key("image.column", Type.STRING);
        key("image.base_path", Type.STRING);
        key("image.max_bytes", Type.LONG);
        key("id_column", Type.STRING);
        key("sampling.temperature", Type.NUMBER);
        key("sampling.top_k", Type.INT);
        key("sampling.top_p", Type.NUMBER);
        key("sampling.min_p", Type.NUMBER);
        key("sampling.repetition_penalty", Type.NUMBER);
        key("sampling.max_tokens", Type.INT);
        key("sampling.seed", Type.LONG);
        key("sampling.stop", Type.STRING_LIST);
        key("logprobs", Type.INT);
        key("token_logprobs", Type.BOOL);
        key("batch_size", Type.INT);
        key("batches_in_flight", Type.INT);
        key("chunk_rows", Type.INT);
        key("partitions", Type.INT);
        key("resume", Type.BOOL);
        key("error_policy", Type.ENUM, "skip", "fail");
        key("max_context_policy", Type.ENUM, "truncate_left", "error");
        key("engine.threads", Type.INT);
        key("engine.max_sequences", Type.INT);
        key("engine.max_batch_tokens", Type.INT);
        key("engine.kv_cache_mb", Type.INT);
        key("engine.kv_cache_type", Type.ENUM_ANY_CASE, "f32", "f16");
        key("engine.context_length", Type.INT);
        key("engine.factory", Type.STRING);
        key("show_rows", Type.INT);
    }

    /** The known key closest to an unknown one, for "did you mean" (null when nothing is close). */
    static String closest(String unknown) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String known : ALL.keySet()) {
            int d = distance(unknown, known);
            if (d < bestDistance) {
                bestDistance = d;
                best = known;
            }
        }
        return bestDistance <= Math.max(2, unknown.length() / 4) ? best : null;
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev; prev = cur; cur = t;
        }
        return prev[b.length()];
    }
}

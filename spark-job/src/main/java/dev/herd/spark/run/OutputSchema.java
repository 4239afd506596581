package dev.herd.spark.run;

import dev.herd.spark.config.JobConfig;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.List;

/** The Parquet schema the job writes (documented in the README's "Output" section). */
public final class OutputSchema {
    private OutputSchema() {}

    public static final String ID = "id";
    public static final String GENERATION = "generation";
    public static final String FINISH_REASON = "finish_reason";
    public static final String PROMPT_TOKENS = "prompt_tokens";
    public static final String COMPLETION_TOKENS = "completion_tokens";
    public static final String LOGPROBS = "logprobs";
    public static final String LOGPROB = "logprob";
    public static final String IS_GREEDY = "is_greedy";
    public static final String CONTINUATION_TOKENS = "continuation_tokens";
    public static final String TOKEN_LOGPROBS = "token_logprobs";
    public static final String LATENCY_MS = "latency_ms";
    public static final String MODEL = "model";
    public static final String MODEL_SHA256 = "model_sha256";
    public static final String SAMPLING = "sampling";
    public static final String ERROR = "error";

    static final StructType ALTERNATIVE = new StructType()
            .add("token", DataTypes.IntegerType, false)
            .add("text", DataTypes.StringType, true)
            .add("logprob", DataTypes.FloatType, false);
    static final StructType TOKEN_LOGPROB = ALTERNATIVE
            .add("top", DataTypes.createArrayType(ALTERNATIVE, false), true);
    static final StructType SAMPLING_STRUCT = new StructType()
            .add("temperature", DataTypes.DoubleType, false)
            .add("top_k", DataTypes.IntegerType, false)
            .add("top_p", DataTypes.DoubleType, false)
            .add("min_p", DataTypes.DoubleType, false)
            .add("repetition_penalty", DataTypes.DoubleType, false)
            .add("max_tokens", DataTypes.IntegerType, false)
            .add("seed", DataTypes.LongType, false)
            .add("row_seed", DataTypes.LongType, false);

    /** Result columns of a mode, in order, without id and passthrough columns. */
    static List<StructField> resultFields(JobConfig config) {
        List<StructField> fields = new ArrayList<>();
        if (config.mode() == JobConfig.Mode.SCORE) {
            fields.add(DataTypes.createStructField(LOGPROB, DataTypes.DoubleType, true));
            fields.add(DataTypes.createStructField(IS_GREEDY, DataTypes.BooleanType, true));
            fields.add(DataTypes.createStructField(PROMPT_TOKENS, DataTypes.IntegerType, false));
            fields.add(DataTypes.createStructField(CONTINUATION_TOKENS, DataTypes.IntegerType, false));
            if (config.tokenLogprobs()) {
                fields.add(DataTypes.createStructField(TOKEN_LOGPROBS, DataTypes.createArrayType(DataTypes.FloatType, false), true));
            }
        } else {
            fields.add(DataTypes.createStructField(GENERATION, DataTypes.StringType, true));
            fields.add(DataTypes.createStructField(FINISH_REASON, DataTypes.StringType, false));
            fields.add(DataTypes.createStructField(PROMPT_TOKENS, DataTypes.IntegerType, false));
            fields.add(DataTypes.createStructField(COMPLETION_TOKENS, DataTypes.IntegerType, false));
            if (config.logprobs() > 0) {
                fields.add(DataTypes.createStructField(LOGPROBS, DataTypes.createArrayType(TOKEN_LOGPROB, false), true));
            }
        }
        fields.add(DataTypes.createStructField(LATENCY_MS, DataTypes.DoubleType, false));
        fields.add(DataTypes.createStructField(MODEL, DataTypes.StringType, false));
        fields.add(DataTypes.createStructField(MODEL_SHA256, DataTypes.StringType, false));
        if (config.mode() != JobConfig.Mode.SCORE) {
            fields.add(DataTypes.createStructField(SAMPLING, SAMPLING_STRUCT, false));
        }
        fields.add(DataTypes.createStructField(ERROR, DataTypes.StringType, true));
        return fields;
    }

    /** id, then the passthrough columns with their input types, then the mode's result columns. */
    public static StructType of(JobConfig config, List<StructField> passthrough) {
        List<StructField> fields = new ArrayList<>();
        fields.add(DataTypes.createStructField(ID, DataTypes.StringType, false));
        fields.addAll(passthrough);
        fields.addAll(resultFields(config));
        return DataTypes.createStructType(fields);
    }

    /** Names a passthrough column may not have, because the job writes a column of that name. */
    public static List<String> reservedNames(JobConfig config) {
        List<String> names = new ArrayList<>(List.of(ID));
        resultFields(config).forEach(f -> names.add(f.name()));
        return names;
    }
}

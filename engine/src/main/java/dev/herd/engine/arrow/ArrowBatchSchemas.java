package dev.herd.engine.arrow;

import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

import java.util.ArrayList;
import java.util.List;

/**
 * Column names and types of the batches {@link ArrowBatchEngine} reads and writes.
 *
 * <p><b>Generation request</b> (a host may leave out any column but {@code seed}, and needs
 * {@code prompt} or {@code messages}; other columns are ignored):
 * <pre>
 *   prompt    utf8, nullable                                    plain text (or one user turn when chat)
 *   messages  list&lt;struct&lt;role: utf8, content: utf8&gt;&gt;, nullable  a conversation; wins over prompt
 *   images    list&lt;binary&gt;, nullable                          encoded images (JPEG, PNG…)
 *   seed      int64                                            the row's sampling seed
 *   error     utf8, nullable                                   set: the row is not run and fails with this
 * </pre>
 * <b>Generation result</b>: {@code generation} utf8 (null on error), {@code finish_reason} utf8
 * (stop, length, error), {@code prompt_tokens} int32, {@code completion_tokens} int32,
 * {@code logprobs} (only when asked for) list&lt;struct&lt;token: int32, text: utf8, logprob: float32,
 * top: list&lt;struct&lt;token, text, logprob&gt;&gt;&gt;&gt;, {@code latency_ms} float64, {@code error} utf8.
 *
 * <p><b>Score request</b>: {@code context} utf8, {@code continuation} utf8, {@code error} utf8
 * (optional, as above). <b>Score result</b>: {@code logprob} float64 (null on error),
 * {@code is_greedy} bool (null on error), {@code prompt_tokens} int32 (context tokens after any
 * truncation), {@code continuation_tokens} int32, {@code token_logprobs} list&lt;float32&gt; (only
 * when asked for), {@code latency_ms} float64, {@code error} utf8.
 */
public final class ArrowBatchSchemas {
    private ArrowBatchSchemas() {}

    public static final String PROMPT = "prompt";
    public static final String MESSAGES = "messages";
    public static final String ROLE = "role";
    public static final String CONTENT = "content";
    public static final String IMAGES = "images";
    public static final String SEED = "seed";
    public static final String ERROR = "error";

    public static final String GENERATION = "generation";
    public static final String FINISH_REASON = "finish_reason";
    public static final String PROMPT_TOKENS = "prompt_tokens";
    public static final String COMPLETION_TOKENS = "completion_tokens";
    public static final String LOGPROBS = "logprobs";
    public static final String TOKEN = "token";
    public static final String TEXT = "text";
    public static final String LOGPROB = "logprob";
    public static final String TOP = "top";
    public static final String LATENCY_MS = "latency_ms";

    public static final String CONTEXT = "context";
    public static final String CONTINUATION = "continuation";
    public static final String IS_GREEDY = "is_greedy";
    public static final String CONTINUATION_TOKENS = "continuation_tokens";
    public static final String TOKEN_LOGPROBS = "token_logprobs";

    static final ArrowType UTF8 = ArrowType.Utf8.INSTANCE;
    static final ArrowType BINARY = ArrowType.Binary.INSTANCE;
    static final ArrowType INT32 = new ArrowType.Int(32, true);
    static final ArrowType INT64 = new ArrowType.Int(64, true);
    static final ArrowType FLOAT32 = new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE);
    static final ArrowType FLOAT64 = new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);

    public static Schema generateRequest() {
        return new Schema(List.of(
                nullable(PROMPT, UTF8),
                list(MESSAGES, struct("message", nullable(ROLE, UTF8), nullable(CONTENT, UTF8))),
                list(IMAGES, nullable("image", BINARY)),
                required(SEED, INT64),
                nullable(ERROR, UTF8)));
    }

    public static Schema generateResult(boolean withLogprobs) {
        List<Field> fields = new ArrayList<>(List.of(
                nullable(GENERATION, UTF8),
                required(FINISH_REASON, UTF8),
                required(PROMPT_TOKENS, INT32),
                required(COMPLETION_TOKENS, INT32)));
        if (withLogprobs) {
            Field alternative = struct("alternative",
                    required(TOKEN, INT32), nullable(TEXT, UTF8), required(LOGPROB, FLOAT32));
            fields.add(list(LOGPROBS, struct("token_logprob",
                    required(TOKEN, INT32), nullable(TEXT, UTF8), required(LOGPROB, FLOAT32),
                    list(TOP, alternative))));
        }
        fields.add(required(LATENCY_MS, FLOAT64));
        fields.add(nullable(ERROR, UTF8));
        return new Schema(fields);
    }

    public static Schema scoreRequest() {
        return new Schema(List.of(nullable(CONTEXT, UTF8), nullable(CONTINUATION, UTF8), nullable(ERROR, UTF8)));
    }

    public static Schema scoreResult(boolean withTokenLogprobs) {
        List<Field> fields = new ArrayList<>(List.of(
                nullable(LOGPROB, FLOAT64),
                nullable(IS_GREEDY, ArrowType.Bool.INSTANCE),
                required(PROMPT_TOKENS, INT32),
                required(CONTINUATION_TOKENS, INT32)));
        if (withTokenLogprobs) fields.add(list(TOKEN_LOGPROBS, required("logprob", FLOAT32)));
        fields.add(required(LATENCY_MS, FLOAT64));
        fields.add(nullable(ERROR, UTF8));
        return new Schema(fields);
    }

    static Field nullable(String name, ArrowType type) {
        return new Field(name, FieldType.nullable(type), null);
    }

    static Field required(String name, ArrowType type) {
        return new Field(name, FieldType.notNullable(type), null);
    }

    static Field struct(String name, Field... children) {
        return new Field(name, FieldType.nullable(ArrowType.Struct.INSTANCE), List.of(children));
    }

    static Field list(String name, Field element) {
        return new Field(name, FieldType.nullable(ArrowType.List.INSTANCE), List.of(element));
    }
}

package dev.herd.engine.arrow;

import dev.herd.engine.ChatMessage;
import dev.herd.engine.Engine;
import dev.herd.engine.GenerationRequest;
import dev.herd.engine.GenerationResult;
import dev.herd.engine.Prompt;
import dev.herd.engine.ScoreRequest;
import dev.herd.engine.ScoreResult;
import dev.herd.engine.TokenLogprob;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.StructVector;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

import static dev.herd.engine.arrow.ArrowBatchSchemas.*;
import static dev.herd.engine.arrow.RequestBatchWriter.utf8;

/**
 * Runs record batches of requests through an {@link Engine}: every row of a batch is submitted at
 * once, so the engine's scheduler batches them with whatever else is in flight (other batches,
 * other threads). Column layouts are in {@link ArrowBatchSchemas}.
 *
 * <p>The request batch is read completely before a method returns, so the caller may close or
 * reuse it right away. The result batch is allocated from this object's allocator and belongs to
 * the caller. A row that fails for a reason of its own gets its reason in {@code error}; the
 * returned future fails only when the engine itself does. Thread-safe.
 */
public final class ArrowBatchEngine {
    private final Engine engine;
    private final BufferAllocator allocator;

    public ArrowBatchEngine(Engine engine, BufferAllocator allocator) {
        this.engine = Objects.requireNonNull(engine, "engine");
        this.allocator = Objects.requireNonNull(allocator, "allocator");
    }

    /**
     * Generates for every row of {@code requests}.
     *
     * @throws IllegalArgumentException when a column has the wrong type, {@code seed} is missing,
     *                                  or neither {@code prompt} nor {@code messages} is present
     */
    public CompletableFuture<VectorSchemaRoot> generate(VectorSchemaRoot requests, GenerateBatchOptions options) {
        GenerateColumns in = new GenerateColumns(requests);
        int n = requests.getRowCount();
        List<CompletableFuture<GenerationResult>> results = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String rowError = in.string(in.error, i);
            if (rowError != null) {
                results.add(CompletableFuture.completedFuture(GenerationResult.failed(rowError, 0, 0)));
                continue;
            }
            GenerationRequest request;
            try {
                request = new GenerationRequest(in.prompt(i, options), options.sampling().withSeed(in.seed.get(i)),
                        options.maxTokens(), options.stopStrings(), null, options.logprobs(), options.overflow(), false);
            } catch (IllegalArgumentException e) {
                results.add(CompletableFuture.completedFuture(GenerationResult.failed(e.getMessage(), 0, 0)));
                continue;
            }
            results.add(submit(() -> engine.generate(request)));
        }
        return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new))
                .thenApply(done -> writeGenerateResults(results, options.logprobs() > 0));
    }

    /**
     * Scores every row of {@code requests}.
     *
     * @throws IllegalArgumentException when a column has the wrong type or is missing
     */
    public CompletableFuture<VectorSchemaRoot> score(VectorSchemaRoot requests, ScoreBatchOptions options) {
        VarCharVector context = column(requests, CONTEXT, VarCharVector.class, true);
        VarCharVector continuation = column(requests, CONTINUATION, VarCharVector.class, true);
        VarCharVector error = column(requests, ERROR, VarCharVector.class, false);
        ListVector images = imagesColumn(requests);
        int n = requests.getRowCount();
        List<CompletableFuture<ScoreResult>> results = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String rowError = error == null || error.isNull(i) ? null : text(error, i);
            if (rowError == null && (context.isNull(i) || continuation.isNull(i))) {
                rowError = (context.isNull(i) ? CONTEXT : CONTINUATION) + " is null";
            }
            if (rowError != null) {
                results.add(CompletableFuture.completedFuture(ScoreResult.failed(rowError, 0)));
                continue;
            }
            ScoreRequest request;
            try {
                List<byte[]> rowImages = rowImages(images, i);
                // A chat context is the user's turn; the continuation is then scored as the whole reply.
                Prompt prompt = options.chat()
                        ? GenerateColumns.chat(List.of(ChatMessage.text("user", text(context, i))), rowImages, null)
                        : new Prompt.Text(text(context, i), true, false, rowImages);
                request = new ScoreRequest(prompt, text(continuation, i), options.chat(), options.tokenLogprobs(), options.overflow());
            } catch (IllegalArgumentException e) {
                results.add(CompletableFuture.completedFuture(ScoreResult.failed(e.getMessage(), 0)));
                continue;
            }
            results.add(submit(() -> engine.score(request)));
        }
        return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new))
                .thenApply(done -> writeScoreResults(results, options.tokenLogprobs()));
    }

    /** The {@code images} column of a batch (list of binary), or null when absent. */
    private static ListVector imagesColumn(VectorSchemaRoot root) {
        ListVector images = column(root, IMAGES, ListVector.class, false);
        if (images != null && !(images.getDataVector() instanceof VarBinaryVector)) {
            throw new IllegalArgumentException("column '" + IMAGES + "' must be list<binary>, got " + images.getField());
        }
        return images;
    }

    private static List<byte[]> rowImages(ListVector images, int i) {
        if (images == null || images.isNull(i)) return List.of();
        VarBinaryVector image = (VarBinaryVector) images.getDataVector();
        List<byte[]> out = new ArrayList<>();
        for (int j = images.getElementStartIndex(i); j < images.getElementEndIndex(i); j++) {
            if (image.isNull(j)) throw new IllegalArgumentException("image " + (j - images.getElementStartIndex(i)) + " is null");
            out.add(image.get(j));
        }
        return out;
    }

    /** An engine that throws instead of returning a failed future still fails only this batch's future. */
    private static <T> CompletableFuture<T> submit(Supplier<CompletableFuture<T>> call) {
        try {
            return call.get();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private VectorSchemaRoot writeGenerateResults(List<CompletableFuture<GenerationResult>> results, boolean withLogprobs) {
        VectorSchemaRoot root = VectorSchemaRoot.create(generateResult(withLogprobs), allocator);
        try {
            root.allocateNew();
            VarCharVector generation = (VarCharVector) root.getVector(GENERATION);
            VarCharVector finish = (VarCharVector) root.getVector(FINISH_REASON);
            IntVector promptTokens = (IntVector) root.getVector(PROMPT_TOKENS);
            IntVector completionTokens = (IntVector) root.getVector(COMPLETION_TOKENS);
            Float8Vector latency = (Float8Vector) root.getVector(LATENCY_MS);
            VarCharVector error = (VarCharVector) root.getVector(ERROR);
            LogprobsWriter logprobs = withLogprobs ? new LogprobsWriter((ListVector) root.getVector(LOGPROBS)) : null;
            for (int i = 0; i < results.size(); i++) {
                GenerationResult r = results.get(i).join();
                boolean failed = r.error() != null;
                if (failed) generation.setNull(i);
                else generation.setSafe(i, utf8(r.text()));
                finish.setSafe(i, utf8(r.finishReason().jsonName()));
                promptTokens.setSafe(i, r.promptTokens());
                completionTokens.setSafe(i, r.completionTokens());
                latency.setSafe(i, r.latencyNanos() / 1e6);
                if (failed) error.setSafe(i, utf8(r.error()));
                else error.setNull(i);
                if (logprobs != null) logprobs.write(i, failed ? null : r.logprobs());
            }
            root.setRowCount(results.size());
            return root;
        } catch (RuntimeException e) {
            root.close();
            throw e;
        }
    }

    private VectorSchemaRoot writeScoreResults(List<CompletableFuture<ScoreResult>> results, boolean withTokenLogprobs) {
        VectorSchemaRoot root = VectorSchemaRoot.create(scoreResult(withTokenLogprobs), allocator);
        try {
            root.allocateNew();
            Float8Vector logprob = (Float8Vector) root.getVector(LOGPROB);
            BitVector greedy = (BitVector) root.getVector(IS_GREEDY);
            IntVector contextTokens = (IntVector) root.getVector(PROMPT_TOKENS);
            IntVector continuationTokens = (IntVector) root.getVector(CONTINUATION_TOKENS);
            ListVector tokenLogprobs = withTokenLogprobs ? (ListVector) root.getVector(TOKEN_LOGPROBS) : null;
            Float8Vector latency = (Float8Vector) root.getVector(LATENCY_MS);
            VarCharVector error = (VarCharVector) root.getVector(ERROR);
            for (int i = 0; i < results.size(); i++) {
                ScoreResult r = results.get(i).join();
                if (r.ok()) {
                    logprob.setSafe(i, r.logprob());
                    greedy.setSafe(i, r.isGreedy() ? 1 : 0);
                    error.setNull(i);
                } else {
                    logprob.setNull(i);
                    greedy.setNull(i);
                    error.setSafe(i, utf8(r.error()));
                }
                contextTokens.setSafe(i, r.contextTokens());
                continuationTokens.setSafe(i, r.nTokens());
                latency.setSafe(i, r.latencyNanos() / 1e6);
                if (tokenLogprobs != null) {
                    if (!r.ok()) {
                        tokenLogprobs.setNull(i);
                    } else {
                        Float4Vector values = (Float4Vector) tokenLogprobs.getDataVector();
                        int start = tokenLogprobs.startNewValue(i);
                        float[] lp = r.tokenLogprobs();
                        for (int j = 0; j < lp.length; j++) values.setSafe(start + j, lp[j]);
                        tokenLogprobs.endValue(i, lp.length);
                    }
                }
            }
            root.setRowCount(results.size());
            return root;
        } catch (RuntimeException e) {
            root.close();
            throw e;
        }
    }

    /** Writes {@code list<struct<token, text, logprob, top: list<struct<token, text, logprob>>>>}. */
    private static final class LogprobsWriter {
        private final ListVector list;
        private final StructVector entry;
        private final IntVector token;
        private final VarCharVector text;
        private final Float4Vector logprob;
        private final ListVector top;
        private final StructVector alternative;
        private final IntVector altToken;
        private final VarCharVector altText;
        private final Float4Vector altLogprob;

        LogprobsWriter(ListVector list) {
            this.list = list;
            entry = (StructVector) list.getDataVector();
            token = entry.getChild(TOKEN, IntVector.class);
            text = entry.getChild(TEXT, VarCharVector.class);
            logprob = entry.getChild(LOGPROB, Float4Vector.class);
            top = entry.getChild(TOP, ListVector.class);
            alternative = (StructVector) top.getDataVector();
            altToken = alternative.getChild(TOKEN, IntVector.class);
            altText = alternative.getChild(TEXT, VarCharVector.class);
            altLogprob = alternative.getChild(LOGPROB, Float4Vector.class);
        }

        void write(int row, List<TokenLogprob> tokens) {
            if (tokens == null) {
                list.setNull(row);
                return;
            }
            int start = list.startNewValue(row);
            for (int j = 0; j < tokens.size(); j++) {
                TokenLogprob t = tokens.get(j);
                int at = start + j;
                entry.setIndexDefined(at);
                token.setSafe(at, t.token());
                setText(text, at, t.text());
                logprob.setSafe(at, t.logprob());
                int altStart = top.startNewValue(at);
                for (int k = 0; k < t.top().size(); k++) {
                    TokenLogprob.Alternative a = t.top().get(k);
                    alternative.setIndexDefined(altStart + k);
                    altToken.setSafe(altStart + k, a.token());
                    setText(altText, altStart + k, a.text());
                    altLogprob.setSafe(altStart + k, a.logprob());
                }
                top.endValue(at, t.top().size());
            }
            list.endValue(row, tokens.size());
        }

        private static void setText(VarCharVector v, int at, String s) {
            if (s == null) v.setNull(at);
            else v.setSafe(at, utf8(s));
        }
    }

    /** The columns of a generation request batch, type-checked once. */
    private static final class GenerateColumns {
        final VarCharVector prompt;
        final ListVector messages;
        final VarCharVector role;
        final VarCharVector content;
        final ListVector images;
        final BigIntVector seed;
        final VarCharVector error;

        GenerateColumns(VectorSchemaRoot root) {
            prompt = column(root, PROMPT, VarCharVector.class, false);
            messages = column(root, MESSAGES, ListVector.class, false);
            if (messages != null) {
                if (!(messages.getDataVector() instanceof StructVector message)) {
                    throw new IllegalArgumentException("column '" + MESSAGES + "' must be list<struct<role: utf8, content: utf8>>, got " + messages.getField());
                }
                role = child(message, ROLE);
                content = child(message, CONTENT);
            } else {
                role = content = null;
            }
            if (prompt == null && messages == null) {
                throw new IllegalArgumentException("a generation batch needs a '" + PROMPT + "' or a '" + MESSAGES + "' column, got " + root.getSchema());
            }
            images = imagesColumn(root);
            seed = column(root, SEED, BigIntVector.class, true);
            error = column(root, ERROR, VarCharVector.class, false);
        }

        Prompt prompt(int i, GenerateBatchOptions options) {
            List<byte[]> rowImages = images(i);
            if (messages != null && !messages.isNull(i)) {
                List<ChatMessage> turns = new ArrayList<>();
                for (int j = messages.getElementStartIndex(i); j < messages.getElementEndIndex(i); j++) {
                    String r = string(role, j);
                    String c = string(content, j);
                    if (r == null || c == null) {
                        throw new IllegalArgumentException("message " + (j - messages.getElementStartIndex(i)) + " has a null " + (r == null ? ROLE : CONTENT));
                    }
                    turns.add(ChatMessage.text(r, c));
                }
                return chat(turns, rowImages, options.system());
            }
            String text = string(prompt, i);
            if (text == null) throw new IllegalArgumentException("the row has neither a prompt nor messages");
            if (options.chat()) return chat(List.of(ChatMessage.text("user", text)), rowImages, options.system());
            return new Prompt.Text(text, true, options.parseSpecial(), rowImages);
        }

        /** Images go before the text of the first user turn; a system turn is added when there is none. */
        private static Prompt chat(List<ChatMessage> turns, List<byte[]> rowImages, String system) {
            List<ChatMessage> out = new ArrayList<>(turns.size() + 1);
            if (system != null && (turns.isEmpty() || !turns.getFirst().role().equals("system"))) {
                out.add(ChatMessage.text("system", system));
            }
            boolean placed = rowImages.isEmpty();
            for (ChatMessage turn : turns) {
                if (!placed && turn.role().equals("user")) {
                    List<ChatMessage.Content> parts = new ArrayList<>();
                    rowImages.forEach(bytes -> parts.add(new ChatMessage.Content.Image(bytes)));
                    parts.addAll(turn.content());
                    turn = new ChatMessage(turn.role(), parts);
                    placed = true;
                }
                out.add(turn);
            }
            if (!placed) throw new IllegalArgumentException("the row has images but no user turn to put them in");
            return new Prompt.Chat(out);
        }

        private List<byte[]> images(int i) {
            return rowImages(images, i);
        }

        String string(VarCharVector v, int i) {
            return v == null || v.isNull(i) ? null : text(v, i);
        }

        private static VarCharVector child(StructVector struct, String name) {
            if (!(struct.getChild(name) instanceof VarCharVector v)) {
                throw new IllegalArgumentException("column '" + MESSAGES + "' must be list<struct<role: utf8, content: utf8>>: field '" + name + "' is missing or not utf8");
            }
            return v;
        }
    }

    private static String text(VarCharVector v, int i) {
        return new String(v.get(i), StandardCharsets.UTF_8);
    }

    private static <V extends FieldVector> V column(VectorSchemaRoot root, String name, Class<V> type, boolean required) {
        FieldVector v = root.getVector(name);
        if (v == null) {
            if (required) throw new IllegalArgumentException("the batch has no '" + name + "' column; columns: " + root.getSchema().getFields().stream().map(f -> f.getName()).toList());
            return null;
        }
        if (!type.isInstance(v)) {
            throw new IllegalArgumentException("column '" + name + "' must be " + type.getSimpleName() + ", got " + v.getField().getType());
        }
        return type.cast(v);
    }
}

package dev.herd.engine.runtime;

import dev.herd.engine.ChatMessage;
import dev.herd.engine.ContextOverflowPolicy;
import dev.herd.engine.Engine;
import dev.herd.engine.EngineOptions;
import dev.herd.engine.GenerationRequest;
import dev.herd.engine.GenerationResult;
import dev.herd.engine.KvCacheType;
import dev.herd.engine.ModelInfo;
import dev.herd.engine.Prompt;
import dev.herd.engine.ScoreRequest;
import dev.herd.engine.ScoreResult;
import dev.herd.engine.chat.ChatTemplate;
import dev.herd.engine.chat.ChatTemplateException;
import dev.herd.engine.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The engine: one model, its KV cache and the {@link Scheduler} that batches every sequence in
 * flight. Requests are validated and tokenized on the caller's thread; everything else happens
 * on the scheduler thread and the compute pool.
 */
public final class BatchEngine implements Engine {

    private final TextModel model;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final ModelInfo info;
    private final ComputePool pool;
    private final Scheduler scheduler;
    private final int contextLength;
    private final VisionModel vision;
    private final KvCacheType kvCacheType;

    /**
     * @param vision the vision tower, or null for a text-only engine
     */
    public BatchEngine(TextModel model, VisionModel vision, Tokenizer tokenizer, ChatTemplate chatTemplate, ModelInfo info,
                       EngineOptions options, ComputePool pool) {
        this.model = model;
        this.vision = vision;
        if (vision != null && vision.embeddingDim() != model.embeddingDim()) {
            throw new IllegalArgumentException("the vision projector outputs " + vision.embeddingDim() + "-wide embeddings but the text model takes "
                    + model.embeddingDim() + ": they are not a pair");
        }
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
        this.info = info;
        this.pool = pool;
        this.contextLength = info.contextLength();
        long budget = options.kvCacheBytes() > 0 ? options.kvCacheBytes() : EngineOptions.DEFAULT_KV_CACHE_BYTES;
        this.kvCacheType = options.kvCacheType();
        KvCache cache = new KvCache(model.layers(), model.kvDim(), budget, kvCacheType);
        this.scheduler = new Scheduler(model, cache, options.maxBatchTokens(), options.maxSequences());
    }

    @Override public ModelInfo modelInfo() { return info; }
    @Override public Tokenizer tokenizer() { return tokenizer; }
    @Override public ChatTemplate chatTemplate() { return chatTemplate; }

    @Override
    public CompletableFuture<GenerationResult> generate(GenerationRequest request) {
        long start = System.nanoTime();
        CompletableFuture<GenerationResult> future = new CompletableFuture<>();
        PromptPlan plan;
        try {
            plan = plan(request.prompt());
            if (plan.tokens.length == 0) throw new RequestException("the prompt is empty");
            if (plan.tokens.length >= contextLength) {
                if (!plan.images.isEmpty()) {
                    throw new RequestException("the prompt has " + plan.tokens.length + " tokens (images included) but the context window holds "
                            + contextLength + "; prompts with images are never truncated");
                }
                // Truncation leaves room to generate: max_tokens, but at most half the window.
                int reserve = Math.max(1, Math.min(request.maxTokens(), contextLength / 2));
                plan = new PromptPlan(fitToContext(plan.tokens, contextLength - reserve, request.overflow(), "prompt"), List.of(), null);
            }
        } catch (RequestException | ChatTemplateException e) {
            future.complete(GenerationResult.failed(e.getMessage(), 0, System.nanoTime() - start));
            return future;
        } catch (RuntimeException e) {
            // Image decoding and tiling failures name the image.
            future.complete(GenerationResult.failed(e.getMessage() != null ? e.getMessage() : e.toString(), 0, System.nanoTime() - start));
            return future;
        }
        if (request.maxTokens() == 0) {
            future.complete(new GenerationResult(new int[0], "", dev.herd.engine.FinishReason.LENGTH, plan.tokens.length, 0,
                    List.of(), null, System.nanoTime() - start));
            return future;
        }
        int maxNew = Math.min(request.maxTokens(), contextLength - plan.tokens.length);
        GenerateJob job = new GenerateJob(plan.tokens, request, future, tokenizer, maxNew);
        if (!plan.images.isEmpty()) {
            job.images = plan.images;
            job.embeddingRow = plan.embeddingRow;
            job.embeddingDim = model.embeddingDim();
        }
        scheduler.submit(job);
        return future;
    }

    /** A prompt's tokens and, for images, which positions take which embedding rows. */
    private record PromptPlan(int[] tokens, List<VisionModel.PreparedImage> images, int[] embeddingRow) {}

    private PromptPlan plan(Prompt prompt) {
        return switch (prompt) {
            case Prompt.Tokens t -> {
                checkTokenIds(t.ids());
                yield new PromptPlan(t.ids().clone(), List.of(), null);
            }
            case Prompt.Text t -> {
                requireTokenizer();
                if (t.text().isEmpty() && t.images().isEmpty()) throw new RequestException("the prompt is empty");
                if (t.images().isEmpty()) yield new PromptPlan(tokenizer.encode(t.text(), t.addBos(), t.parseSpecial()), List.of(), null);
                yield textWithImages(t);
            }
            case Prompt.Chat c -> {
                requireTokenizer();
                if (c.messages().isEmpty()) throw new RequestException("the chat has no messages");
                List<byte[]> images = new ArrayList<>();
                for (ChatMessage m : c.messages()) {
                    for (ChatMessage.Content part : m.content()) {
                        if (part instanceof ChatMessage.Content.Image img) images.add(img.encoded());
                    }
                }
                // The rendered template starts with BOS itself: no second one.
                int[] ids = tokenizer.encode(chatTemplate.render(c.messages(), true), false, true);
                yield images.isEmpty() ? new PromptPlan(ids, List.of(), null) : chatWithImages(ids, images);
            }
        };
    }

    /** Text with images: each {@code <|image|>} in the text takes the next image; with none, the images go first. */
    private PromptPlan textWithImages(Prompt.Text t) {
        List<VisionModel.PreparedImage> images = prepareImages(t.images());
        String marker = "<|image|>";
        List<String> segments = new ArrayList<>(List.of(t.text().split(java.util.regex.Pattern.quote(marker), -1)));
        if (segments.size() == 1) segments.addFirst("");
        if (segments.size() - 1 != images.size()) {
            throw new RequestException("the prompt has " + (segments.size() - 1) + " " + marker + " placeholder(s) but "
                    + images.size() + " image(s) were given");
        }
        IntList tokens = new IntList();
        if (t.addBos() && tokenizer.bosId() >= 0) tokens.add(tokenizer.bosId(), -1);
        for (int i = 0; i < segments.size(); i++) {
            for (int id : tokenizer.encode(segments.get(i), false, t.parseSpecial())) tokens.add(id, -1);
            if (i < images.size()) tokens.addImage(images.get(i));
        }
        return tokens.plan(images);
    }

    /** A rendered chat: each {@code <|image|>} token the template emitted takes the next image, in message order. */
    private PromptPlan chatWithImages(int[] ids, List<byte[]> encodedImages) {
        List<VisionModel.PreparedImage> images = prepareImages(encodedImages);
        int placeholder = tokenizer.specialTokenId("<|image|>");
        IntList tokens = new IntList();
        int used = 0;
        for (int id : ids) {
            if (id == placeholder && placeholder >= 0 && used < images.size()) tokens.addImage(images.get(used++));
            else tokens.add(id, -1);
        }
        if (used != images.size()) {
            throw new RequestException("the chat template placed " + used + " of " + images.size() + " images; it must emit <|image|> for each image part");
        }
        return tokens.plan(images);
    }

    private List<VisionModel.PreparedImage> prepareImages(List<byte[]> encoded) {
        if (vision == null) throw new RequestException("no vision projector is loaded (model.mmproj / --mmproj), so images cannot be read");
        List<VisionModel.PreparedImage> out = new ArrayList<>();
        for (int i = 0; i < encoded.size(); i++) out.add(vision.prepare(encoded.get(i), "image " + (i + 1), tokenizer::specialTokenId));
        return out;
    }

    /** Token ids with, per position, the embedding row it takes (-1: none). */
    private static final class IntList {
        int[] ids = new int[64], rows = new int[64];
        int size, nextRow;

        void add(int id, int row) {
            if (size == ids.length) {
                ids = java.util.Arrays.copyOf(ids, size * 2);
                rows = java.util.Arrays.copyOf(rows, size * 2);
            }
            ids[size] = id;
            rows[size++] = row;
        }

        void addImage(VisionModel.PreparedImage image) {
            for (int id : image.layoutIds()) add(id, id == image.embeddingToken() ? nextRow++ : -1);
        }

        PromptPlan plan(List<VisionModel.PreparedImage> images) {
            return new PromptPlan(java.util.Arrays.copyOf(ids, size), images, java.util.Arrays.copyOf(rows, size));
        }
    }

    @Override
    public CompletableFuture<ScoreResult> score(ScoreRequest request) {
        long start = System.nanoTime();
        CompletableFuture<ScoreResult> future = new CompletableFuture<>();
        try {
            requireTokenizer();
            PromptPlan context;
            if (request.context() instanceof Prompt.Text t && t.text().isEmpty() && t.images().isEmpty()) {
                // An empty context conditions on BOS alone (when there is one).
                context = new PromptPlan(t.addBos() && tokenizer.bosId() >= 0 ? new int[]{tokenizer.bosId()} : new int[0], List.of(), null);
            } else {
                context = plan(request.context());
            }
            int[] continuation = tokenizer.encode(request.continuation(), false, false);
            if (continuation.length == 0) throw new RequestException("the continuation is empty");
            if (request.endOfTurn()) {
                if (tokenizer.eotId() < 0) throw new RequestException("the vocabulary has no end-of-turn token to score a whole reply with");
                continuation = java.util.Arrays.copyOf(continuation, continuation.length + 1);
                continuation[continuation.length - 1] = tokenizer.eotId();
            }
            if (context.tokens.length == 0) throw new RequestException("the context is empty and the vocabulary has no BOS to stand for it");
            if (continuation.length >= contextLength) {
                throw new RequestException("the continuation has " + continuation.length + " tokens but the context window holds " + contextLength);
            }
            if (context.tokens.length + continuation.length > contextLength) {
                if (!context.images.isEmpty()) {
                    throw new RequestException("context (images included) + continuation have " + (context.tokens.length + continuation.length)
                            + " tokens but the context window holds " + contextLength + "; prompts with images are never truncated");
                }
                context = new PromptPlan(fitToContext(context.tokens, contextLength - continuation.length, request.overflow(),
                        "context + continuation"), List.of(), null);
            }
            ScoreJob job = new ScoreJob(context.tokens, continuation, request.perTokenLogprobs(), future);
            if (!context.images.isEmpty()) {
                job.images = context.images;
                job.embeddingRow = context.embeddingRow;
                job.embeddingDim = model.embeddingDim();
            }
            scheduler.submit(job);
        } catch (RequestException | ChatTemplateException e) {
            future.complete(ScoreResult.failed(e.getMessage(), System.nanoTime() - start));
        } catch (RuntimeException e) {
            future.complete(ScoreResult.failed(e.getMessage() != null ? e.getMessage() : e.toString(), System.nanoTime() - start));
        }
        return future;
    }

    /**
     * The logits of every position of {@code tokens}, handed to {@code sink} in order on the
     * scheduler thread (for {@code herd logits}); the future completes after the last one.
     */
    public CompletableFuture<Void> logits(int[] tokens, LogitsSink sink) {
        CompletableFuture<Void> future = new CompletableFuture<>();
        try {
            checkTokenIds(tokens);
            if (tokens.length == 0) throw new RequestException("no tokens given");
            if (tokens.length > contextLength) {
                throw new RequestException(tokens.length + " tokens do not fit the context window of " + contextLength);
            }
        } catch (RequestException e) {
            future.completeExceptionally(e);
            return future;
        }
        scheduler.submit(new LogitsJob(tokens, sink, future));
        return future;
    }

    /** KV-cache bytes one position of one sequence takes. */
    public long kvBytesPerPosition() {
        return KvCache.bytesPerBlock(model.layers(), model.kvDim(), kvCacheType) / KvCache.BLOCK;
    }

    /** Step timings so far (prompt vs decode), for benchmarks and progress reports. */
    public StepStats.Snapshot stepStats() {
        return scheduler.stats.snapshot();
    }

    /** Prompt positions whose keys and values came from the prefix cache instead of being computed. */
    public long prefixCacheReusedTokens() {
        return scheduler.reusedPositions();
    }

    /** Routes every later step's expert choices to {@code trace} (tests and diagnostics). */
    public void traceRouting(TextModel.RoutingTrace trace) {
        scheduler.trace(trace);
    }

    private void requireTokenizer() {
        if (tokenizer == null) throw new RequestException("this model has no tokenizer; pass token ids");
    }

    private void checkTokenIds(int[] ids) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= model.vocabSize()) {
                throw new RequestException("token id " + ids[i] + " at index " + i + " is outside the vocabulary [0, " + model.vocabSize() + ")");
            }
        }
    }

    /** Applies the overflow policy: left truncation keeps a leading BOS and the most recent tokens. */
    private int[] fitToContext(int[] tokens, int keep, ContextOverflowPolicy policy, String what) {
        if (tokens.length <= keep) return tokens;
        if (policy == ContextOverflowPolicy.ERROR) {
            throw new RequestException("the " + what + " has " + tokens.length + " tokens but the context window holds "
                    + contextLength + " (max_context_policy=error)");
        }
        boolean bos = tokenizer != null && tokenizer.bosId() >= 0 && tokens.length > 0 && tokens[0] == tokenizer.bosId();
        if (keep < (bos ? 2 : 1)) throw new RequestException("the context window of " + contextLength + " tokens is too small for this request");
        int[] out = new int[keep];
        int head = bos ? 1 : 0;
        if (bos) out[0] = tokens[0];
        System.arraycopy(tokens, tokens.length - (keep - head), out, head, keep - head);
        return out;
    }

    public int contextLength() { return contextLength; }

    /** Compute threads (the scheduler thread included). */
    public int threads() { return pool.threads(); }

    public int[] tokenize(String text, boolean addBos, boolean parseSpecial) {
        requireTokenizer();
        return tokenizer.encode(text, addBos, parseSpecial);
    }

    @Override
    public void close() {
        scheduler.close();
        pool.close();
        model.close();
        if (vision != null) vision.close();
    }

    /** A request that cannot run as given; becomes the result's error. */
    static final class RequestException extends RuntimeException {
        RequestException(String message) { super(message); }
    }

    @Override
    public String toString() {
        return "BatchEngine[" + info + ", context " + contextLength + ", threads " + pool.threads() + "]";
    }
}

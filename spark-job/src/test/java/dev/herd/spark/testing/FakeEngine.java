package dev.herd.spark.testing;

import dev.herd.engine.ChatMessage;
import dev.herd.engine.ContextOverflowPolicy;
import dev.herd.engine.Engine;
import dev.herd.engine.EngineOptions;
import dev.herd.engine.FinishReason;
import dev.herd.engine.GenerationRequest;
import dev.herd.engine.GenerationResult;
import dev.herd.engine.ModelInfo;
import dev.herd.engine.Prompt;
import dev.herd.engine.ScoreRequest;
import dev.herd.engine.ScoreResult;
import dev.herd.engine.TokenLogprob;
import dev.herd.engine.chat.ChatTemplate;
import dev.herd.engine.tokenizer.Tokenizer;

import javax.imageio.ImageIO;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stand-in for the engine in tests of the job's own logic (error policy, resume, bad rows,
 * batching). It maps the model file like the real engine and checks its GGUF magic, words are
 * tokens, a prompt's tokens are its words plus BOS, and the "generation" is a function of the
 * prompt, the row seed and max_tokens, so reproducibility and seeding are observable.
 *
 * <p>Knobs (system properties, so a spark-submit child JVM can be steered too):
 * {@code herd.fake.delayMs} (per request), {@code herd.fake.crash} (a prompt containing this text
 * fails the engine, not just the row).
 */
public final class FakeEngine implements Engine {
    public static final AtomicInteger LOADS = new AtomicInteger();
    public static final ConcurrentLinkedQueue<String> PROMPTS = new ConcurrentLinkedQueue<>();
    public static final AtomicInteger IN_FLIGHT = new AtomicInteger();
    public static final AtomicInteger MAX_IN_FLIGHT = new AtomicInteger();
    public static volatile EngineOptions lastOptions;

    private static final ExecutorService POOL = Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "fake-engine");
        t.setDaemon(true);
        return t;
    });

    private final EngineOptions options;
    private final int contextLength;
    private volatile boolean closed;

    FakeEngine(EngineOptions options) throws IOException {
        try (FileChannel ch = FileChannel.open(options.model(), StandardOpenOption.READ)) {
            ByteBuffer magic = ch.map(FileChannel.MapMode.READ_ONLY, 0, 4);
            byte[] m = new byte[4];
            magic.get(m);
            if (!new String(m, StandardCharsets.US_ASCII).equals("GGUF")) throw new IOException(options.model() + " is not a GGUF file");
        }
        if (options.mmproj() != null && !Files.isRegularFile(options.mmproj())) throw new IOException("no mmproj at " + options.mmproj());
        this.options = options;
        this.contextLength = options.contextLength() > 0 ? options.contextLength() : 64;
        lastOptions = options;
        LOADS.incrementAndGet();
    }

    public static void reset() {
        PROMPTS.clear();
        MAX_IN_FLIGHT.set(0);
    }

    @Override
    public ModelInfo modelInfo() {
        return new ModelInfo("fake-" + options.model().getFileName(), "fake", "F32", contextLength, 1000, options.mmproj() != null);
    }

    @Override public Tokenizer tokenizer() { throw new UnsupportedOperationException("not needed by the job"); }
    @Override public ChatTemplate chatTemplate() { throw new UnsupportedOperationException("not needed by the job"); }

    @Override
    public CompletableFuture<GenerationResult> generate(GenerationRequest request) {
        if (closed) throw new IllegalStateException("engine closed");
        return async(() -> run(request));
    }

    @Override
    public CompletableFuture<ScoreResult> score(ScoreRequest request) {
        if (closed) throw new IllegalStateException("engine closed");
        return async(() -> score0(request));
    }

    private <T> CompletableFuture<T> async(java.util.function.Supplier<T> work) {
        int now = IN_FLIGHT.incrementAndGet();
        MAX_IN_FLIGHT.accumulateAndGet(now, Math::max);
        long delay = Long.getLong("herd.fake.delayMs", 0);
        return CompletableFuture.supplyAsync(() -> {
            try {
                if (delay > 0) TimeUnit.MILLISECONDS.sleep(delay);
                return work.get();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            } finally {
                IN_FLIGHT.decrementAndGet();
            }
        }, POOL);
    }

    private GenerationResult run(GenerationRequest r) {
        StringBuilder text = new StringBuilder();
        int images = 0;
        switch (r.prompt()) {
            case Prompt.Text t -> {
                text.append(t.text());
                images = t.images().size();
                for (byte[] img : t.images()) if (!decodable(img)) return GenerationResult.failed("undecodable image: not a PNG/JPEG", 0, 1000);
            }
            case Prompt.Chat c -> {
                for (ChatMessage m : c.messages()) {
                    text.append('<').append(m.role()).append('>');
                    for (ChatMessage.Content part : m.content()) {
                        if (part instanceof ChatMessage.Content.Text t) text.append(t.text());
                        else if (part instanceof ChatMessage.Content.Image img) {
                            images++;
                            if (!decodable(img.encoded())) return GenerationResult.failed("undecodable image: not a PNG/JPEG", 0, 1000);
                            text.append("<image>");
                        }
                    }
                }
                text.append("<assistant>");
            }
            case Prompt.Tokens t -> text.append("tokens:").append(t.ids().length);
        }
        String prompt = text.toString();
        PROMPTS.add(prompt + (images > 0 ? " [images=" + images + "]" : ""));
        String crash = System.getProperty("herd.fake.crash");
        if (crash != null && prompt.contains(crash)) throw new IllegalStateException("fake engine crashed on purpose");
        int words = prompt.isBlank() ? 0 : prompt.trim().split("\\s+").length;
        if (words == 0 && images == 0) return GenerationResult.failed("empty prompt", 1, 1000);
        int promptTokens = 1 + words + images * 4;
        if (promptTokens + 1 > contextLength) {
            if (r.overflow() == ContextOverflowPolicy.ERROR) {
                return GenerationResult.failed("prompt of " + promptTokens + " tokens does not fit the context of " + contextLength, promptTokens, 1000);
            }
            promptTokens = contextLength - 1;
        }
        // Sampled rows depend on the seed; greedy rows only on the prompt.
        Random random = new Random(prompt.hashCode() * 31L + (r.sampling().greedy() ? 0 : r.sampling().seed()));
        int n = Math.min(r.maxTokens(), contextLength - promptTokens);
        List<String> out = new ArrayList<>();
        List<TokenLogprob> logprobs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int id = random.nextInt(1000);
            out.add("w" + id);
            if (r.logprobs() > 0) {
                logprobs.add(new TokenLogprob(id, "w" + id, -0.5f, List.of(new TokenLogprob.Alternative(id, "w" + id, -0.5f))));
            }
        }
        int[] ids = new int[n];
        return new GenerationResult(ids, String.join(" ", out), n == r.maxTokens() ? FinishReason.LENGTH : FinishReason.STOP,
                promptTokens, n, logprobs, null, 2_000_000);
    }

    private ScoreResult score0(ScoreRequest r) {
        PROMPTS.add(r.context() + "|" + r.continuation());
        int contextTokens = 1 + (r.context().isBlank() ? 0 : r.context().trim().split("\\s+").length);
        String[] cont = r.continuation().trim().split("\\s+");
        if (contextTokens + cont.length > contextLength) {
            if (r.overflow() == ContextOverflowPolicy.ERROR) {
                return ScoreResult.failed("context and continuation of " + (contextTokens + cont.length) + " tokens do not fit the context of " + contextLength, 1000);
            }
            contextTokens = contextLength - cont.length;
        }
        float[] lp = new float[cont.length];
        double sum = 0;
        for (int i = 0; i < cont.length; i++) {
            lp[i] = -0.25f * (i + 1);
            sum += lp[i];
        }
        return new ScoreResult(sum, r.continuation().trim().startsWith("yes"), cont.length,
                r.perTokenLogprobs() ? lp : new float[0], contextTokens, null, 1_000_000);
    }

    private static boolean decodable(byte[] bytes) {
        try {
            return ImageIO.read(new ByteArrayInputStream(bytes)) != null;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void close() { closed = true; }

    /** The {@code engine.factory} tests name. */
    public static final class Factory implements dev.herd.spark.model.EngineFactory {
        @Override
        public Engine create(EngineOptions options) throws IOException {
            return new FakeEngine(options);
        }
    }

}

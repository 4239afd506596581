package dev.herd.engine;

import dev.herd.engine.chat.ChatTemplate;
import dev.herd.engine.tokenizer.Tokenizer;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;

/**
 * A loaded model that serves many requests at once. Load it once, then submit requests from any
 * number of threads; the engine's scheduler batches their sequences together.
 *
 * <p>Futures complete normally even when a request fails for a reason of its own (empty prompt,
 * prompt longer than the context with {@link ContextOverflowPolicy#ERROR}, undecodable image):
 * the result then carries {@link FinishReason#ERROR} and the reason in {@code error()}. They
 * complete exceptionally only when the engine itself fails or is closed.
 */
public interface Engine extends AutoCloseable {

    /** Maps the model file(s) named by the options and starts the engine's scheduler. */
    static Engine load(EngineOptions options) throws IOException {
        return EngineLoader.load(options);
    }

    ModelInfo modelInfo();

    Tokenizer tokenizer();

    /** The model's own chat template ({@code tokenizer.chat_template}), or Llama 4's default. */
    ChatTemplate chatTemplate();

    CompletableFuture<GenerationResult> generate(GenerationRequest request);

    CompletableFuture<ScoreResult> score(ScoreRequest request);

    /** Stops accepting requests, fails the ones in flight and unmaps the weights. */
    @Override
    void close();
}

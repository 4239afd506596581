package dev.herd.engine.arrow;

import dev.herd.engine.Engine;
import dev.herd.engine.GenerationRequest;
import dev.herd.engine.GenerationResult;
import dev.herd.engine.ModelInfo;
import dev.herd.engine.ScoreRequest;
import dev.herd.engine.ScoreResult;
import dev.herd.engine.chat.ChatTemplate;
import dev.herd.engine.tokenizer.Tokenizer;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/** Records what it is asked and answers with the given functions (asynchronously, like the real one). */
final class RecordingEngine implements Engine {
    final List<GenerationRequest> generations = new CopyOnWriteArrayList<>();
    final List<ScoreRequest> scores = new CopyOnWriteArrayList<>();
    private final Function<GenerationRequest, GenerationResult> generate;
    private final Function<ScoreRequest, ScoreResult> score;

    RecordingEngine(Function<GenerationRequest, GenerationResult> generate, Function<ScoreRequest, ScoreResult> score) {
        this.generate = generate;
        this.score = score;
    }

    @Override public ModelInfo modelInfo() { return new ModelInfo("recording", "test", "F32", 64, 100, false); }
    @Override public Tokenizer tokenizer() { throw new UnsupportedOperationException(); }
    @Override public ChatTemplate chatTemplate() { throw new UnsupportedOperationException(); }

    @Override
    public CompletableFuture<GenerationResult> generate(GenerationRequest request) {
        generations.add(request);
        return CompletableFuture.supplyAsync(() -> generate.apply(request));
    }

    @Override
    public CompletableFuture<ScoreResult> score(ScoreRequest request) {
        scores.add(request);
        return CompletableFuture.supplyAsync(() -> score.apply(request));
    }

    @Override public void close() {}
}

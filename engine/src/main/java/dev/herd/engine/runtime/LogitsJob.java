package dev.herd.engine.runtime;

import java.util.concurrent.CompletableFuture;

/** Feeds tokens and hands the logits of every position, in order, to a consumer. */
final class LogitsJob extends Job {

    private final LogitsSink sink;
    private final CompletableFuture<Void> future;

    LogitsJob(int[] tokens, LogitsSink sink, CompletableFuture<Void> future) {
        super(tokens);
        this.sink = sink;
        this.future = future;
    }

    @Override
    int maxPositions() { return length; }

    @Override
    int firstLogitsPosition() { return 0; }

    @Override
    boolean wantsLogits(int position) { return true; }

    @Override
    void onLogits(int position, float[] logits, int offset, int vocab) {
        sink.accept(position, logits, offset, vocab);
        if (position == length - 1) {
            done = true;
            future.complete(null);
        }
    }

    @Override
    void fail(Throwable error) {
        done = true;
        future.completeExceptionally(error);
    }
}

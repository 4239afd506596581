package dev.herd.engine.runtime;

import dev.herd.engine.ScoreResult;
import dev.herd.engine.sampling.LogProbs;

import java.util.concurrent.CompletableFuture;

/** Log-likelihood of the continuation tokens given the context tokens, in one prefill. */
final class ScoreJob extends Job {

    private final int contextLength;
    private final boolean perToken;
    private final CompletableFuture<ScoreResult> future;
    private final float[] tokenLogprobs;
    private double sum;
    private boolean greedy = true;
    private int scored;

    ScoreJob(int[] context, int[] continuation, boolean perToken, CompletableFuture<ScoreResult> future) {
        super(concat(context, continuation));
        this.contextLength = context.length;
        this.perToken = perToken;
        this.future = future;
        this.tokenLogprobs = new float[continuation.length];
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Override
    int maxPositions() { return length; }

    @Override
    int firstLogitsPosition() { return contextLength - 1; }

    @Override
    boolean wantsLogits(int position) {
        return position >= contextLength - 1 && position < length - 1;
    }

    @Override
    void onLogits(int position, float[] logits, int off, int vocab) {
        int target = tokens[position + 1];
        double lp = logits[off + target] - LogProbs.logSumExp(logits, off, vocab);
        sum += lp;
        tokenLogprobs[scored++] = (float) lp;
        if (LogProbs.argmax(logits, off, vocab) != target) greedy = false;
        if (scored == tokenLogprobs.length) {
            done = true;
            future.complete(new ScoreResult(sum, greedy, scored, perToken ? tokenLogprobs : new float[0], contextLength, null, elapsedNanos()));
        }
    }

    @Override
    void fail(Throwable error) {
        done = true;
        future.completeExceptionally(error);
    }
}

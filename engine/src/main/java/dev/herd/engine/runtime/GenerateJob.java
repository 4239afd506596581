package dev.herd.engine.runtime;

import dev.herd.engine.FinishReason;
import dev.herd.engine.GenerationRequest;
import dev.herd.engine.GenerationResult;
import dev.herd.engine.TokenLogprob;
import dev.herd.engine.sampling.LogProbs;
import dev.herd.engine.sampling.Sampler;
import dev.herd.engine.tokenizer.StreamingDecoder;
import dev.herd.engine.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** A generation: feeds the prompt, then samples one token per step until a stop condition. */
final class GenerateJob extends Job {

    private final GenerationRequest request;
    private final CompletableFuture<GenerationResult> future;
    private final Tokenizer tokenizer;
    private final int promptLength;
    private final int maxNew;
    private final Sampler sampler;
    private final StreamingDecoder decoder;
    private final StringBuilder text = new StringBuilder();
    private final List<TokenLogprob> logprobs = new ArrayList<>();
    private final int maxStopLength;

    /**
     * @param maxNew       tokens that may be generated (the request's limit, capped by the context)
     */
    GenerateJob(int[] prompt, GenerationRequest request, CompletableFuture<GenerationResult> future, Tokenizer tokenizer,
                int maxNew) {
        super(prompt);
        this.request = request;
        this.future = future;
        this.tokenizer = tokenizer;
        this.promptLength = prompt.length;
        this.maxNew = maxNew;
        this.sampler = new Sampler(request.sampling(), prompt);
        this.decoder = tokenizer == null ? null : tokenizer.newStreamingDecoder();
        this.maxStopLength = request.stopStrings().stream().mapToInt(String::length).max().orElse(0);
    }

    @Override
    int maxPositions() {
        // The last generated token is never fed back, so it needs no cache slot.
        return promptLength + Math.max(0, maxNew - 1);
    }

    @Override
    int firstLogitsPosition() { return promptLength - 1; }

    @Override
    boolean wantsLogits(int position) {
        return position >= promptLength - 1;
    }

    @Override
    void onLogits(int position, float[] logits, int off, int vocab) {
        int token = sampler.sample(logits, off, vocab);
        sampler.accept(token);
        if (request.logprobs() > 0) logprobs.add(logprob(token, logits, off, vocab));
        append(token);
        int generated = length - promptLength;

        if (isStopToken(token)) {
            finish(FinishReason.STOP, flushText());
            return;
        }
        if (decoder != null) {
            int searchFrom = Math.max(0, text.length() - maxStopLength);
            text.append(decoder.append(token));
            int cut = firstStop(searchFrom);
            if (cut >= 0) {
                finish(FinishReason.STOP, text.substring(0, cut));
                return;
            }
        }
        if (generated >= maxNew) {
            String all = flushText();
            int cut = firstStop(0);
            finish(cut >= 0 ? FinishReason.STOP : FinishReason.LENGTH, cut >= 0 ? all.substring(0, cut) : all);
        }
    }

    private boolean isStopToken(int token) {
        if (!request.ignoreEos() && tokenizer != null && tokenizer.isEndOfGeneration(token)) return true;
        for (int s : request.stopTokens()) if (s == token) return true;
        return false;
    }

    private String flushText() {
        if (decoder != null) text.append(decoder.finish());
        return text.toString();
    }

    /** The first stop string's start in the generated text at or after {@code from}, or -1 (searched in place: no copy of the text per token). */
    private int firstStop(int from) {
        int best = -1;
        for (String stop : request.stopStrings()) {
            if (stop.isEmpty()) continue;
            int i = text.indexOf(stop, from);
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }

    private TokenLogprob logprob(int token, float[] logits, int off, int vocab) {
        double lse = LogProbs.logSumExp(logits, off, vocab);
        List<TokenLogprob.Alternative> top = new ArrayList<>();
        for (int id : LogProbs.top(logits, off, vocab, request.logprobs())) {
            top.add(new TokenLogprob.Alternative(id, piece(id), (float) (logits[off + id] - lse)));
        }
        return new TokenLogprob(token, piece(token), (float) (logits[off + token] - lse), top);
    }

    private String piece(int id) {
        return tokenizer == null ? "" : tokenizer.decode(new int[]{id});
    }

    private void finish(FinishReason reason, String finalText) {
        done = true;
        int[] ids = Arrays.copyOfRange(tokens, promptLength, length);
        future.complete(new GenerationResult(ids, finalText, reason, promptLength, ids.length, logprobs, null, elapsedNanos()));
    }

    @Override
    void fail(Throwable error) {
        done = true;
        future.completeExceptionally(error);
    }
}

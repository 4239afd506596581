package dev.herd.engine;

import java.util.List;

/**
 * The outcome of a {@link GenerationRequest}.
 *
 * @param ids              generated token ids (a stop token is included, a stop string's tokens too)
 * @param text             the generated text, cut before the first stop string
 * @param finishReason     stop, length or error
 * @param promptTokens     tokens in the (possibly truncated) prompt
 * @param completionTokens generated tokens
 * @param logprobs         one entry per generated token when requested, else empty
 * @param error            why the request failed, or null
 * @param latencyNanos     submission to completion
 */
public record GenerationResult(int[] ids, String text, FinishReason finishReason, int promptTokens,
                               int completionTokens, List<TokenLogprob> logprobs, String error,
                               long latencyNanos) {

    public GenerationResult { logprobs = List.copyOf(logprobs); }

    public static GenerationResult failed(String error, int promptTokens, long latencyNanos) {
        return new GenerationResult(new int[0], "", FinishReason.ERROR, promptTokens, 0, List.of(), error, latencyNanos);
    }
}

package dev.herd.engine;

import java.util.Objects;

/**
 * The log-likelihood of a continuation given a context, as evaluation harnesses compute it: the
 * context is tokenized with BOS, the continuation separately without, and the two id lists are
 * concatenated.
 *
 * @param context          the conditioning text
 * @param continuation     the text whose probability is wanted (must tokenize to >= 1 token)
 * @param perTokenLogprobs also return each continuation token's logprob
 * @param overflow         what to do when context + continuation does not fit (truncation
 *                         drops context tokens only)
 */
public record ScoreRequest(String context, String continuation, boolean perTokenLogprobs,
                           ContextOverflowPolicy overflow) {

    public ScoreRequest {
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(continuation, "continuation");
        Objects.requireNonNull(overflow, "overflow");
    }

    public ScoreRequest(String context, String continuation) {
        this(context, continuation, true, ContextOverflowPolicy.ERROR);
    }
}

package dev.herd.engine;

import java.util.List;
import java.util.Objects;

/**
 * The log-likelihood of a continuation given a context, as evaluation harnesses compute it: the
 * context is tokenized (plain text with BOS, or a chat rendered by the model's template, images
 * included), the continuation separately without BOS, and the two id lists are concatenated.
 *
 * @param context          the conditioning prompt
 * @param continuation     the text whose probability is wanted (must tokenize to >= 1 token)
 * @param endOfTurn        score the continuation as the assistant's whole reply: its tokens followed
 *                         by the end-of-turn token (for chat contexts, so that an answer that is a
 *                         prefix of another does not win by stopping early)
 * @param perTokenLogprobs also return each continuation token's logprob
 * @param overflow         what to do when context + continuation does not fit (truncation
 *                         drops context tokens only, never images)
 */
public record ScoreRequest(Prompt context, String continuation, boolean endOfTurn, boolean perTokenLogprobs,
                           ContextOverflowPolicy overflow) {

    public ScoreRequest {
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(continuation, "continuation");
        Objects.requireNonNull(overflow, "overflow");
        if (context instanceof Prompt.Tokens) throw new IllegalArgumentException("score a text or chat context, not token ids");
    }

    /** Plain text context with BOS, as lm-evaluation-harness does. */
    public ScoreRequest(String context, String continuation, boolean perTokenLogprobs, ContextOverflowPolicy overflow) {
        this(new Prompt.Text(context, true, false, List.of()), continuation, false, perTokenLogprobs, overflow);
    }

    public ScoreRequest(String context, String continuation) {
        this(context, continuation, true, ContextOverflowPolicy.ERROR);
    }
}

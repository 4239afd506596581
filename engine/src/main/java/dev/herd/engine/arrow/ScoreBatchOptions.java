package dev.herd.engine.arrow;

import dev.herd.engine.ContextOverflowPolicy;

import java.util.Objects;

/**
 * What every row of a scoring batch shares.
 *
 * @param tokenLogprobs add the {@code token_logprobs} column (each continuation token's logprob)
 * @param overflow      what to do when context + continuation does not fit (truncation drops
 *                      context tokens only)
 * @param chat          the context is the user's turn of a chat (with the row's images) and the
 *                      continuation is scored as the assistant's whole reply, end of turn included
 */
public record ScoreBatchOptions(boolean tokenLogprobs, ContextOverflowPolicy overflow, boolean chat) {
    public ScoreBatchOptions {
        Objects.requireNonNull(overflow, "overflow");
    }

    public ScoreBatchOptions(boolean tokenLogprobs, ContextOverflowPolicy overflow) {
        this(tokenLogprobs, overflow, false);
    }
}

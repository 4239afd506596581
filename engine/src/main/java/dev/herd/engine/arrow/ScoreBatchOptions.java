package dev.herd.engine.arrow;

import dev.herd.engine.ContextOverflowPolicy;

import java.util.Objects;

/**
 * What every row of a scoring batch shares.
 *
 * @param tokenLogprobs add the {@code token_logprobs} column (each continuation token's logprob)
 * @param overflow      what to do when context + continuation does not fit (truncation drops
 *                      context tokens only)
 */
public record ScoreBatchOptions(boolean tokenLogprobs, ContextOverflowPolicy overflow) {
    public ScoreBatchOptions {
        Objects.requireNonNull(overflow, "overflow");
    }
}

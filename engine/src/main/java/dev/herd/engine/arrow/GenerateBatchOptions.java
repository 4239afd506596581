package dev.herd.engine.arrow;

import dev.herd.engine.ContextOverflowPolicy;
import dev.herd.engine.SamplingParams;

import java.util.List;
import java.util.Objects;

/**
 * What every row of a generation batch shares.
 *
 * @param sampling     sampling parameters; the seed is replaced by each row's {@code seed}
 * @param maxTokens    most tokens to generate per row
 * @param stopStrings  generation ends at any of these (cut from the text)
 * @param logprobs     top alternatives per generated token in the {@code logprobs} column;
 *                     0 leaves the column out
 * @param overflow     what to do with a prompt longer than the context
 * @param chat         render a {@code prompt} row as one user turn through the model's chat
 *                     template ({@code messages} rows always are)
 * @param parseSpecial recognise special-token texts in plain {@code prompt} rows
 * @param system       a system turn put before chat rows that have none, or null
 */
public record GenerateBatchOptions(SamplingParams sampling, int maxTokens, List<String> stopStrings,
                                   int logprobs, ContextOverflowPolicy overflow, boolean chat,
                                   boolean parseSpecial, String system) {

    public GenerateBatchOptions {
        Objects.requireNonNull(sampling, "sampling");
        Objects.requireNonNull(overflow, "overflow");
        stopStrings = List.copyOf(stopStrings);
        if (maxTokens < 0) throw new IllegalArgumentException("maxTokens must be >= 0, got " + maxTokens);
        if (logprobs < 0) throw new IllegalArgumentException("logprobs must be >= 0, got " + logprobs);
    }

    /** Greedy, plain text prompts, errors on overflow, no logprobs. */
    public static GenerateBatchOptions greedy(int maxTokens) {
        return new GenerateBatchOptions(SamplingParams.GREEDY, maxTokens, List.of(), 0,
                ContextOverflowPolicy.ERROR, false, false, null);
    }
}

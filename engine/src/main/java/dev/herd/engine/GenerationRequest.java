package dev.herd.engine;

import java.util.List;
import java.util.Objects;

/**
 * One generation.
 *
 * @param prompt        what to continue
 * @param sampling      how to pick tokens
 * @param maxTokens     most tokens to generate (>= 0)
 * @param stopStrings   generation ends when the text contains one; it is cut from the text
 * @param stopTokens    extra token ids that end generation (end-of-generation tokens always do)
 * @param logprobs      how many top alternatives to report per generated token (0 = none, only
 *                      the chosen token's logprob is then not reported either)
 * @param overflow      what to do when the prompt does not fit the context
 * @param ignoreEos     keep generating through end-of-generation tokens (llama.cpp's {@code --ignore-eos})
 */
public record GenerationRequest(Prompt prompt, SamplingParams sampling, int maxTokens,
                                List<String> stopStrings, int[] stopTokens, int logprobs,
                                ContextOverflowPolicy overflow, boolean ignoreEos) {

    public GenerationRequest {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(sampling, "sampling");
        Objects.requireNonNull(overflow, "overflow");
        if (maxTokens < 0) throw new IllegalArgumentException("max_tokens must be >= 0, got " + maxTokens);
        if (logprobs < 0) throw new IllegalArgumentException("logprobs must be >= 0, got " + logprobs);
        stopStrings = List.copyOf(stopStrings);
        stopTokens = stopTokens == null ? new int[0] : stopTokens.clone();
    }

    public static GenerationRequest greedy(Prompt prompt, int maxTokens) {
        return new GenerationRequest(prompt, SamplingParams.GREEDY, maxTokens, List.of(), new int[0], 0, ContextOverflowPolicy.ERROR, false);
    }

    public GenerationRequest withSampling(SamplingParams s) { return new GenerationRequest(prompt, s, maxTokens, stopStrings, stopTokens, logprobs, overflow, ignoreEos); }
    public GenerationRequest withStop(List<String> strings, int[] tokens) { return new GenerationRequest(prompt, sampling, maxTokens, strings, tokens, logprobs, overflow, ignoreEos); }
    public GenerationRequest withLogprobs(int n) { return new GenerationRequest(prompt, sampling, maxTokens, stopStrings, stopTokens, n, overflow, ignoreEos); }
    public GenerationRequest withOverflow(ContextOverflowPolicy p) { return new GenerationRequest(prompt, sampling, maxTokens, stopStrings, stopTokens, logprobs, p, ignoreEos); }
    public GenerationRequest withIgnoreEos(boolean ignore) { return new GenerationRequest(prompt, sampling, maxTokens, stopStrings, stopTokens, logprobs, overflow, ignore); }
}

package dev.herd.engine;

/**
 * How the next token is chosen. The order matches llama.cpp's default sampler chain: penalties,
 * top-k, top-p, min-p, temperature, then a draw from the per-request seeded generator.
 * {@code temperature == 0} is greedy (argmax, lowest id on ties).
 *
 * @param temperature       0 = greedy
 * @param topK              0 = off
 * @param topP              1 = off
 * @param minP              0 = off
 * @param repetitionPenalty 1 = off (divides positive logits of tokens seen, multiplies negative ones)
 * @param frequencyPenalty  0 = off (subtracts count × penalty)
 * @param presencePenalty   0 = off (subtracts penalty once per token seen)
 * @param penaltyLastN      how many recent tokens (prompt included) the penalties look at; -1 = all
 * @param seed              the request's seed: same seed, same prompt, same tokens
 */
public record SamplingParams(float temperature, int topK, float topP, float minP,
                             float repetitionPenalty, float frequencyPenalty, float presencePenalty,
                             int penaltyLastN, long seed) {

    public static final SamplingParams GREEDY = new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, 64, 0L);

    public SamplingParams {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top_k must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        if (!(minP >= 0 && minP <= 1)) throw new IllegalArgumentException("min_p must be in [0, 1], got " + minP);
        if (!(repetitionPenalty > 0)) throw new IllegalArgumentException("repetition_penalty must be > 0, got " + repetitionPenalty);
        if (Float.isNaN(frequencyPenalty) || Float.isNaN(presencePenalty)) throw new IllegalArgumentException("penalties must be numbers");
        if (penaltyLastN < -1) throw new IllegalArgumentException("penalty_last_n must be >= -1, got " + penaltyLastN);
    }

    public boolean greedy() { return temperature == 0f; }

    public SamplingParams withTemperature(float t) { return new SamplingParams(t, topK, topP, minP, repetitionPenalty, frequencyPenalty, presencePenalty, penaltyLastN, seed); }
    public SamplingParams withTopK(int k) { return new SamplingParams(temperature, k, topP, minP, repetitionPenalty, frequencyPenalty, presencePenalty, penaltyLastN, seed); }
    public SamplingParams withTopP(float p) { return new SamplingParams(temperature, topK, p, minP, repetitionPenalty, frequencyPenalty, presencePenalty, penaltyLastN, seed); }
    public SamplingParams withMinP(float p) { return new SamplingParams(temperature, topK, topP, p, repetitionPenalty, frequencyPenalty, presencePenalty, penaltyLastN, seed); }
    public SamplingParams withPenalties(float repetition, float frequency, float presence, int lastN) { return new SamplingParams(temperature, topK, topP, minP, repetition, frequency, presence, lastN, seed); }
    public SamplingParams withSeed(long s) { return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, frequencyPenalty, presencePenalty, penaltyLastN, s); }
}

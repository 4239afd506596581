package dev.herd.engine;

/**
 * @param logprob       sum of the continuation tokens' natural-log probabilities
 * @param isGreedy      whether every continuation token is the argmax at its position
 * @param nTokens       continuation tokens scored
 * @param tokenLogprobs each continuation token's logprob (empty unless requested)
 * @param contextTokens context tokens used (after any truncation)
 * @param error         why the request failed, or null
 * @param latencyNanos  submission to completion
 */
public record ScoreResult(double logprob, boolean isGreedy, int nTokens, float[] tokenLogprobs,
                          int contextTokens, String error, long latencyNanos) {

    public static ScoreResult failed(String error, long latencyNanos) {
        return new ScoreResult(Double.NaN, false, 0, new float[0], 0, error, latencyNanos);
    }

    public boolean ok() { return error == null; }
}

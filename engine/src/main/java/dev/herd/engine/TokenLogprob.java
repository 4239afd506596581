package dev.herd.engine;

import java.util.List;

/**
 * The log-probability (natural log, under the model's raw distribution before sampling
 * transforms) of one generated token, with the top alternatives at that position.
 */
public record TokenLogprob(int token, String text, float logprob, List<Alternative> top) {

    public TokenLogprob { top = List.copyOf(top); }

    public record Alternative(int token, String text, float logprob) {}
}

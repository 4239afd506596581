package dev.herd.engine.runtime;

/**
 * Time spent in model steps, split into steps that only decode (one token per sequence) and
 * steps that also process prompt tokens: what a benchmark reports as decode and prompt speed.
 * Written by the scheduler thread; read anywhere (each counter is consistent on its own).
 */
public final class StepStats {

    /** A copy of the counters at one moment. */
    public record Snapshot(long steps, long decodeSteps, long decodeTokens, long decodeNanos,
                           long prefillSteps, long prefillTokens, long mixedDecodeTokens, long prefillNanos) {

        public Snapshot minus(Snapshot o) {
            return new Snapshot(steps - o.steps, decodeSteps - o.decodeSteps, decodeTokens - o.decodeTokens, decodeNanos - o.decodeNanos,
                    prefillSteps - o.prefillSteps, prefillTokens - o.prefillTokens, mixedDecodeTokens - o.mixedDecodeTokens, prefillNanos - o.prefillNanos);
        }

        /** Tokens per second of decode-only steps (0 when there were none). */
        public double decodeTokensPerSecond() { return decodeNanos == 0 ? 0 : decodeTokens * 1e9 / decodeNanos; }

        /** Prompt tokens per second of steps that processed prompt tokens. */
        public double prefillTokensPerSecond() { return prefillNanos == 0 ? 0 : prefillTokens * 1e9 / prefillNanos; }
    }

    private volatile long steps, decodeSteps, decodeTokens, decodeNanos, prefillSteps, prefillTokens, mixedDecodeTokens, prefillNanos;

    void record(int rows, int prefillRows, long nanos) {
        steps++;
        if (prefillRows == 0) {
            decodeSteps++;
            decodeTokens += rows;
            decodeNanos += nanos;
        } else {
            prefillSteps++;
            prefillTokens += prefillRows;
            mixedDecodeTokens += rows - prefillRows;
            prefillNanos += nanos;
        }
    }

    public Snapshot snapshot() {
        return new Snapshot(steps, decodeSteps, decodeTokens, decodeNanos, prefillSteps, prefillTokens, mixedDecodeTokens, prefillNanos);
    }
}

package dev.herd.engine;

/** What to do with a prompt that does not fit the context window (leaving room for one new token). */
public enum ContextOverflowPolicy {
    /** Drop the oldest prompt tokens (keeping BOS) until it fits. */
    TRUNCATE_LEFT,
    /** Fail the request with an error naming the lengths. */
    ERROR
}

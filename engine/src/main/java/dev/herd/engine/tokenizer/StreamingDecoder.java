package dev.herd.engine.tokenizer;

/**
 * Turns tokens into text one at a time. A character whose UTF-8 bytes are split across tokens
 * is held back until it is complete, so the concatenation of every {@link #append} result and
 * the final {@link #finish} equals {@code decode(allIds)}. Not thread-safe.
 */
public interface StreamingDecoder {

    /** The text that became complete with this token (possibly empty). */
    String append(int id);

    /** Whatever is held back, with invalid trailing bytes as U+FFFD. */
    String finish();
}

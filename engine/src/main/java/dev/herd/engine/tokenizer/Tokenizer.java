package dev.herd.engine.tokenizer;

/**
 * Text to token ids and back. Implementations are immutable and safe to share between threads.
 */
public interface Tokenizer {

    /**
     * @param addBos       prepend the BOS token (when the vocabulary has one)
     * @param parseSpecial recognise special-token texts (e.g. {@code <|eot|>}) as their ids;
     *                     otherwise they are tokenized as ordinary text
     */
    int[] encode(String text, boolean addBos, boolean parseSpecial);

    /** The exact text of the ids, special tokens included as their text. Invalid UTF-8 becomes U+FFFD. */
    String decode(int[] ids);

    /** The raw bytes a token stands for (a special token's text in UTF-8). */
    byte[] tokenBytes(int id);

    int vocabSize();

    /** -1 when the vocabulary has none. */
    int bosId();

    int eosId();

    int eotId();

    /** Whether the model expects BOS in front of a plain prompt (GGUF {@code tokenizer.ggml.add_bos_token}). */
    default boolean addsBosByDefault() { return bosId() >= 0; }

    /** Tokens that end a generation (EOS, EOT, EOM…). */
    boolean isEndOfGeneration(int id);

    /** The id of a special (control) token text such as {@code <|patch|>}, or -1. */
    int specialTokenId(String text);

    /** A decoder for streaming output that only ever emits complete UTF-8 characters. */
    StreamingDecoder newStreamingDecoder();
}

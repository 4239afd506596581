package dev.herd.engine;

/** Why a generation ended. {@link #jsonName()} is the contract string (stop, length, error). */
public enum FinishReason {
    /** An end-of-generation token, a stop token or a stop string. */
    STOP,
    /** {@code maxTokens} reached, or the context window is full. */
    LENGTH,
    /** The request failed; see {@code error()}. */
    ERROR;

    public String jsonName() { return name().toLowerCase(java.util.Locale.ROOT); }
}

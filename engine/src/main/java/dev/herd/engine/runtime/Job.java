package dev.herd.engine.runtime;

/**
 * One sequence the scheduler drives: a prompt to feed (in chunks), then, for generation, one
 * token per step until done. Subclasses say which rows need logits and what to do with them.
 * All methods run on the scheduler thread.
 */
abstract class Job {

    final long submittedNanos = System.nanoTime();
    /** Tokens to feed; generation appends to it as it goes. */
    int[] tokens;
    int length;
    /** Tokens already in the KV cache. */
    int fed;
    SequenceKv kv;
    boolean done;
    /** Leading full blocks registered in (or taken from) the prefix cache, and the key of that prefix. */
    int cachedBlocks;
    KvCache.PrefixKey cachedKey = KvCache.PrefixKey.EMPTY;

    Job(int[] prompt) {
        this.tokens = prompt.clone();
        this.length = prompt.length;
    }

    /** Most positions this sequence can ever occupy (the KV blocks reserved on admission). */
    abstract int maxPositions();

    /** The first position whose logits are wanted; positions before it may come from the prefix cache. */
    abstract int firstLogitsPosition();

    /** Whether the row at {@code position} should produce logits. */
    abstract boolean wantsLogits(int position);

    /** Handles the logits of {@code position} (a row that wanted them); may append a token or finish. */
    abstract void onLogits(int position, float[] logits, int offset, int vocab);

    /** Ends the job with an engine failure. */
    abstract void fail(Throwable error);

    /** Input embedding for {@code position}, or null to use the token's own. */
    float[] embedding(int position) { return null; }

    boolean hasPendingTokens() { return fed < length; }

    /** Whether block {@code b}'s positions may be shared by prefix: none takes an embedding instead of its token. */
    boolean cacheable(int b) {
        for (int p = b * KvCache.BLOCK; p < (b + 1) * KvCache.BLOCK; p++) if (embedding(p) != null) return false;
        return true;
    }

    void append(int token) {
        if (length == tokens.length) tokens = java.util.Arrays.copyOf(tokens, Math.max(16, tokens.length * 2));
        tokens[length++] = token;
    }

    long elapsedNanos() { return System.nanoTime() - submittedNanos; }
}

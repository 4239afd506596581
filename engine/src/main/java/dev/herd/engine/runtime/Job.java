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

    /** Images whose embeddings replace some prompt positions; encoded by {@link #prepare()}. */
    java.util.List<VisionModel.PreparedImage> images = java.util.List.of();
    /** Per prompt position, the row of {@link #embeddings} it takes, or -1 for its token's own. */
    int[] embeddingRow;
    float[] embeddings;
    int embeddingDim;

    /** Encodes the images (on the scheduler thread, which owns the compute pool). */
    void prepare() {
        if (images.isEmpty() || embeddings != null) return;
        float[][] parts = new float[images.size()][];
        int total = 0;
        for (int i = 0; i < parts.length; i++) total += (parts[i] = images.get(i).embed()).length;
        embeddings = new float[total];
        int at = 0;
        for (float[] part : parts) {
            System.arraycopy(part, 0, embeddings, at, part.length);
            at += part.length;
        }
    }

    boolean hasEmbedding(int position) {
        return embeddingRow != null && position < embeddingRow.length && embeddingRow[position] >= 0;
    }

    boolean hasPendingTokens() { return fed < length; }

    /** Whether block {@code b}'s positions may be shared by prefix: none takes an embedding instead of its token. */
    boolean cacheable(int b) {
        for (int p = b * KvCache.BLOCK; p < (b + 1) * KvCache.BLOCK; p++) if (hasEmbedding(p)) return false;
        return true;
    }

    void append(int token) {
        if (length == tokens.length) tokens = java.util.Arrays.copyOf(tokens, Math.max(16, tokens.length * 2));
        tokens[length++] = token;
    }

    long elapsedNanos() { return System.nanoTime() - submittedNanos; }
}

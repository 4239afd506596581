package dev.herd.engine.runtime;

/**
 * The tokens of one model step, from any number of sequences: each row is one token at one
 * position of one sequence, whose keys and values go to that sequence's KV blocks. Rows of the
 * same sequence must be in position order, and a sequence's earlier positions must already be
 * in the cache or earlier in this batch.
 */
public final class Batch {

    private int size;
    private int[] tokens = new int[16];
    private int[] positions = new int[16];
    private SequenceKv[] sequences = new SequenceKv[16];
    private boolean[] wantLogits = new boolean[16];
    private float[][] embeddings = new float[16][];
    private int[] embeddingOffsets = new int[16];
    /** Scratch of {@link #oneRowPerSequence} (reused: it runs every step). */
    private final java.util.Set<SequenceKv> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

    public void clear() {
        for (int i = 0; i < size; i++) {
            sequences[i] = null;
            embeddings[i] = null;
        }
        size = 0;
    }

    /**
     * Adds a row.
     *
     * @param embeddings      an array holding the input embedding to use instead of the token's (image patches), or null
     * @param embeddingOffset where that embedding starts in the array
     */
    public void add(int token, int position, SequenceKv kv, boolean logits, float[] embeddings, int embeddingOffset) {
        if (size == tokens.length) grow();
        tokens[size] = token;
        positions[size] = position;
        sequences[size] = kv;
        wantLogits[size] = logits;
        this.embeddings[size] = embeddings;
        embeddingOffsets[size] = embeddingOffset;
        size++;
    }

    private void grow() {
        int n = tokens.length * 2;
        tokens = java.util.Arrays.copyOf(tokens, n);
        positions = java.util.Arrays.copyOf(positions, n);
        sequences = java.util.Arrays.copyOf(sequences, n);
        wantLogits = java.util.Arrays.copyOf(wantLogits, n);
        embeddings = java.util.Arrays.copyOf(embeddings, n);
        embeddingOffsets = java.util.Arrays.copyOf(embeddingOffsets, n);
    }

    public int size() { return size; }

    public int token(int row) { return tokens[row]; }

    public int position(int row) { return positions[row]; }

    public SequenceKv sequence(int row) { return sequences[row]; }

    public boolean wantsLogits(int row) { return wantLogits[row]; }

    /** The array holding this row's input embedding, or null to embed its token. */
    public float[] embedding(int row) { return embeddings[row]; }

    public int embeddingOffset(int row) { return embeddingOffsets[row]; }

    /**
     * Whether no sequence has more than one row (a decode step; not a prompt chunk): then each row
     * sees only its own new position beside the cached ones, and its keys and values may be stored
     * while other rows attend.
     */
    public boolean oneRowPerSequence() {
        seen.clear();
        for (int i = 0; i < size; i++) if (!seen.add(sequences[i])) return false;
        return true;
    }

    public int logitRows() {
        int n = 0;
        for (int i = 0; i < size; i++) if (wantLogits[i]) n++;
        return n;
    }
}

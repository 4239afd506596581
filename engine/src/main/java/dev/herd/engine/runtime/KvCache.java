package dev.herd.engine.runtime;

import java.util.ArrayDeque;

/**
 * Keys and values of every sequence in flight, in fixed-size blocks of positions drawn from a
 * pool with a memory budget. A sequence holds a table of block ids; blocks return to the pool
 * when it finishes and are reused, so memory never grows past the budget.
 *
 * <p>Block {@code b} stores, per layer, {@code BLOCK} positions × {@code kvDim} floats of keys and
 * the same of values, allocated on first use. Only the scheduler thread allocates and frees.
 */
public final class KvCache {

    /** Positions per block. */
    public static final int BLOCK = 16;

    private final int layers;
    private final int kvDim;
    private final int maxBlocks;
    private final float[][][] keys;   // [block][layer][BLOCK * kvDim]
    private final float[][][] values;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private int created;

    public KvCache(int layers, int kvDim, long budgetBytes) {
        this.layers = layers;
        this.kvDim = kvDim;
        long blockBytes = bytesPerBlock(layers, kvDim);
        long blocks = budgetBytes / blockBytes;
        if (blocks < 1) {
            throw new IllegalArgumentException("KV cache budget of " + budgetBytes + " bytes is below one block ("
                    + blockBytes + " bytes = " + BLOCK + " positions)");
        }
        this.maxBlocks = (int) Math.min(blocks, Integer.MAX_VALUE / 2);
        this.keys = new float[maxBlocks][][];
        this.values = new float[maxBlocks][][];
    }

    public static long bytesPerBlock(int layers, int kvDim) {
        return 2L * layers * BLOCK * kvDim * Float.BYTES;
    }

    public int layers() { return layers; }

    public int kvDim() { return kvDim; }

    public int maxBlocks() { return maxBlocks; }

    public int freeBlocks() { return free.size() + (maxBlocks - created); }

    public static int blocksFor(int positions) { return (positions + BLOCK - 1) / BLOCK; }

    /** A block id from the pool; the caller must have checked {@link #freeBlocks()}. */
    public int allocate() {
        Integer b = free.poll();
        if (b != null) return b;
        if (created >= maxBlocks) throw new IllegalStateException("KV cache exhausted (" + maxBlocks + " blocks)");
        int id = created++;
        keys[id] = new float[layers][BLOCK * kvDim];
        values[id] = new float[layers][BLOCK * kvDim];
        return id;
    }

    public void release(int block) {
        free.push(block);
    }

    public float[] keys(int block, int layer) { return keys[block][layer]; }

    public float[] values(int block, int layer) { return values[block][layer]; }
}

package dev.herd.engine.runtime;

import java.util.Arrays;

/** One sequence's table of KV-cache blocks: position {@code p} lives in block {@code blocks[p / BLOCK]}. */
public final class SequenceKv {

    private final KvCache cache;
    private int[] blocks = new int[4];
    private int blockCount;

    public SequenceKv(KvCache cache) {
        this.cache = cache;
    }

    public KvCache cache() { return cache; }

    /** Positions the held blocks can store. */
    public int capacity() { return blockCount * KvCache.BLOCK; }

    /** Blocks still needed to store {@code positions} positions. */
    public int blocksNeeded(int positions) {
        return Math.max(0, KvCache.blocksFor(positions) - blockCount);
    }

    /** Appends a block shared from the prefix cache (already retained by {@link KvCache#lookup}). */
    public void adopt(int block) {
        if (blockCount == blocks.length) blocks = Arrays.copyOf(blocks, blocks.length * 2);
        blocks[blockCount++] = block;
    }

    public int blockCount() { return blockCount; }

    /** Takes blocks from the cache until {@code positions} positions fit; the caller checked there are enough. */
    public void reserve(int positions) {
        int need = KvCache.blocksFor(positions);
        if (need > blocks.length) blocks = Arrays.copyOf(blocks, Math.max(need, blocks.length * 2));
        while (blockCount < need) blocks[blockCount++] = cache.allocate();
    }

    public int block(int index) { return blocks[index]; }

    /** Gives back this sequence's hold on every block. */
    public void release() {
        for (int i = 0; i < blockCount; i++) cache.release(blocks[i]);
        blockCount = 0;
    }
}

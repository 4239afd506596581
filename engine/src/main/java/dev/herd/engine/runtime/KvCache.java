package dev.herd.engine.runtime;

import dev.herd.engine.KvCacheType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;

/**
 * Keys and values of every sequence in flight, in fixed-size blocks of positions drawn from a
 * pool with a memory budget. A sequence holds a table of block ids; blocks return to the pool
 * when it finishes and are reused, so memory never grows past the budget.
 *
 * <p><b>Prefix caching.</b> A full block whose positions hold the prompt tokens {@code t[0..16k)}
 * is registered under a key for exactly that token prefix. Keys and values at a position depend
 * only on the tokens up to it, and herd computes them bit-identically in any batch, so a later
 * sequence with the same prefix reuses the block instead of recomputing it. Blocks are reference
 * counted; a registered block nobody uses stays cached until the pool needs it (least recently
 * used first).
 *
 * <p>Block {@code b} stores, per layer, {@code BLOCK} positions × {@code kvDim} elements of keys and
 * the same of values ({@link KvCacheType}: f32 or f16) in native memory (off the Java heap, so the
 * budget is exactly what it costs), allocated on first use. Only the scheduler thread allocates and frees blocks.
 */
public final class KvCache {

    /** Positions per block. */
    public static final int BLOCK = 16;

    /** Identifies a token prefix ending at a block boundary: two independent 64-bit hashes of all its tokens. */
    public record PrefixKey(long h1, long h2) {
        public static final PrefixKey EMPTY = new PrefixKey(0x9E3779B97F4A7C15L, 0xC2B2AE3D27D4EB4FL);

        /** The key of this prefix extended by {@code tokens[from, from + BLOCK)}. */
        public PrefixKey extend(int[] tokens, int from) {
            long a = h1, b = h2;
            for (int i = from; i < from + BLOCK; i++) {
                a = mix(a ^ tokens[i], 0xBF58476D1CE4E5B9L);
                b = mix(b + tokens[i] * 0x94D049BB133111EBL, 0xD6E8FEB86659FD93L);
            }
            return new PrefixKey(a, b);
        }

        private static long mix(long z, long m) {
            z = (z ^ (z >>> 30)) * m;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }
    }

    private final int layers;
    private final int kvDim;
    private final KvCacheType type;
    private final int maxBlocks;
    /** Per block, keys then values of every layer: [2][layer][BLOCK][kvDim] elements, native memory. */
    private final MemorySegment[] blocks;
    private final Arena arena = Arena.ofShared();
    private final long layerBytes;
    private final int[] refCount;
    private final PrefixKey[] blockKey;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final Map<PrefixKey, Integer> index = new HashMap<>();
    private final LinkedHashSet<Integer> evictable = new LinkedHashSet<>();
    private int created;
    private long reusedPositions;

    public KvCache(int layers, int kvDim, long budgetBytes, KvCacheType type) {
        this.layers = layers;
        this.kvDim = kvDim;
        this.type = type;
        long blockBytes = bytesPerBlock(layers, kvDim, type);
        long blocks = budgetBytes / blockBytes;
        if (blocks < 1) {
            throw new IllegalArgumentException("KV cache budget of " + budgetBytes + " bytes is below one block ("
                    + blockBytes + " bytes = " + BLOCK + " positions)");
        }
        this.maxBlocks = (int) Math.min(blocks, Integer.MAX_VALUE / 2);
        this.blocks = new MemorySegment[maxBlocks];
        this.layerBytes = (long) BLOCK * kvDim * type.elementBytes();
        this.refCount = new int[maxBlocks];
        this.blockKey = new PrefixKey[maxBlocks];
    }

    public static long bytesPerBlock(int layers, int kvDim, KvCacheType type) {
        return 2L * layers * BLOCK * kvDim * type.elementBytes();
    }

    public KvCacheType type() { return type; }

    public int layers() { return layers; }

    public int kvDim() { return kvDim; }

    public int maxBlocks() { return maxBlocks; }

    /** Blocks that can be handed out now (free, never created, or cached but unused). */
    public int freeBlocks() { return free.size() + (maxBlocks - created) + evictable.size(); }

    /** Positions served from the prefix cache so far. */
    public long reusedPositions() { return reusedPositions; }

    public static int blocksFor(int positions) { return (positions + BLOCK - 1) / BLOCK; }

    /** A block for one sequence (reference count 1); the caller must have checked {@link #freeBlocks()}. */
    public int allocate() {
        Integer b = free.poll();
        if (b == null && created < maxBlocks) {
            b = created++;
            blocks[b] = arena.allocate(bytesPerBlock(layers, kvDim, type), 64);
        }
        if (b == null) {
            var it = evictable.iterator();
            if (!it.hasNext()) throw new IllegalStateException("KV cache exhausted (" + maxBlocks + " blocks)");
            b = it.next();
            it.remove();
            index.remove(blockKey[b]);
            blockKey[b] = null;
        }
        refCount[b] = 1;
        return b;
    }

    /** The cached block holding exactly this prefix, now also used by the caller; or -1. */
    public int lookup(PrefixKey key) {
        Integer b = index.get(key);
        if (b == null) return -1;
        if (refCount[b]++ == 0) evictable.remove(b);
        reusedPositions += BLOCK;
        return b;
    }

    /** Whether a block for this prefix is cached. */
    public boolean contains(PrefixKey key) { return index.containsKey(key); }

    /** Makes a fully written block findable by the prefix it holds (no-op if that prefix is already cached). */
    public void register(int block, PrefixKey key) {
        if (blockKey[block] != null || index.containsKey(key)) return;
        index.put(key, block);
        blockKey[block] = key;
    }

    public void release(int block) {
        if (--refCount[block] > 0) return;
        if (blockKey[block] != null) evictable.add(block);
        else free.push(block);
    }

    /** The block's memory; layer {@code l}'s keys start at {@link #keyOffset}, its values at {@link #valueOffset}. */
    public MemorySegment block(int block) { return blocks[block]; }

    /** Byte offset of layer {@code layer}'s keys in a block ({@code BLOCK × kvDim} elements, laid out by {@link PagedAttention}). */
    public long keyOffset(int layer) { return layer * layerBytes; }

    /** Byte offset of layer {@code layer}'s values in a block ({@code BLOCK × kvDim} elements, laid out by {@link PagedAttention}). */
    public long valueOffset(int layer) { return (layers + layer) * layerBytes; }

    /** Frees the native memory; the cache must not be used afterwards. */
    public void close() { arena.close(); }
}

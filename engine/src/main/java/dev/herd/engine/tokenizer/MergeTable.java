package dev.herd.engine.tokenizer;

import java.util.Arrays;

/**
 * BPE merge rules keyed by the pair of token ids they join: {@code (left, right) -> (rank, merged id)}.
 * Primitive open addressing keeps the 440k rules of a Llama 4 vocabulary in two flat arrays.
 */
final class MergeTable {
    private static final long EMPTY = -1L;

    private final long[] keys;
    private final long[] entries;
    private final int mask;
    private int size;

    MergeTable(int expected) {
        int capacity = Integer.highestOneBit(Math.max(4, expected * 2 - 1)) << 1;
        keys = new long[capacity];
        entries = new long[capacity];
        mask = capacity - 1;
        Arrays.fill(keys, EMPTY);
    }

    /** Adds a rule; a pair that already has a rule keeps its first (lowest) rank, as a rank map built in order would. */
    void put(int left, int right, int rank, int merged) {
        if (size * 2 >= keys.length) throw new IllegalStateException("merge table over capacity");
        long key = key(left, right);
        int slot = slot(key);
        while (keys[slot] != EMPTY) {
            if (keys[slot] == key) return;
            slot = (slot + 1) & mask;
        }
        keys[slot] = key;
        entries[slot] = ((long) rank << 32) | (merged & 0xFFFFFFFFL);
        size++;
    }

    /** {@code rank << 32 | mergedId} of the rule joining {@code left} and {@code right}, or -1 when there is none. */
    long find(int left, int right) {
        long key = key(left, right);
        for (int slot = slot(key); keys[slot] != EMPTY; slot = (slot + 1) & mask) {
            if (keys[slot] == key) return entries[slot];
        }
        return -1;
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29)) & mask;
    }
}

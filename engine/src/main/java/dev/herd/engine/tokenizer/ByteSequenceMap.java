package dev.herd.engine.tokenizer;

import java.util.Arrays;

/**
 * An immutable index from byte strings to their position in an array, which looks up a range of
 * a caller's array without copying it: BPE asks "is bytes[start, end) a token?" millions of times,
 * and a {@code HashMap<ByteBuffer, Integer>} would allocate a key for every question. Each slot
 * holds the key's hash and index, so a probe touches the slot table and, on a hash hit, one key.
 */
final class ByteSequenceMap {
    private final byte[] pool;
    /** Per index: {@code poolOffset << 32 | length}; -1 where the index has no key. */
    private final long[] keys;
    /** Open addressing, linear probing: {@code hash << 32 | index}, -1 = empty. */
    private final long[] slots;
    private final int mask;

    private ByteSequenceMap(byte[] pool, long[] keys, int count) {
        this.pool = pool;
        this.keys = keys;
        int capacity = Integer.highestOneBit(Math.max(4, count * 2 - 1)) << 1;
        this.slots = new long[capacity];
        this.mask = capacity - 1;
        Arrays.fill(slots, -1L);
        for (int index = 0; index < keys.length; index++) {
            if (keys[index] < 0) continue;
            int from = (int) (keys[index] >>> 32), len = (int) keys[index];
            int hash = hash(pool, from, len);
            int slot = hash & mask;
            for (long s; (s = slots[slot]) != -1L; slot = (slot + 1) & mask) {
                if ((int) (s >>> 32) == hash && equalsAt((int) s, pool, from, len)) {
                    throw new IllegalArgumentException("entries " + (int) s + " and " + index + " have the same bytes");
                }
            }
            slots[slot] = ((long) hash << 32) | index;
        }
    }

    /** Indexes the non-null entries of {@code keys}: each maps to its position. Equal keys are an {@link IllegalArgumentException}. */
    static ByteSequenceMap indexOf(byte[][] keys) {
        long total = 0;
        int count = 0;
        for (byte[] k : keys) {
            if (k != null) { total += k.length; count++; }
        }
        if (total > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("vocabulary too large: " + total + " bytes");
        byte[] pool = new byte[(int) total];
        long[] offsets = new long[keys.length];
        int at = 0;
        for (int i = 0; i < keys.length; i++) {
            byte[] k = keys[i];
            if (k == null) {
                offsets[i] = -1L;
                continue;
            }
            System.arraycopy(k, 0, pool, at, k.length);
            offsets[i] = ((long) at << 32) | k.length;
            at += k.length;
        }
        return new ByteSequenceMap(pool, offsets, count);
    }

    /** The index of {@code bytes[from, to)}, or -1. */
    int get(byte[] bytes, int from, int to) {
        int len = to - from;
        int hash = hash(bytes, from, len);
        for (int slot = hash & mask; ; slot = (slot + 1) & mask) {
            long s = slots[slot];
            if (s == -1L) return -1;
            if ((int) (s >>> 32) == hash && equalsAt((int) s, bytes, from, len)) return (int) s;
        }
    }

    int get(byte[] bytes) {
        return get(bytes, 0, bytes.length);
    }

    private boolean equalsAt(int index, byte[] bytes, int from, int len) {
        long key = keys[index];
        int start = (int) (key >>> 32);
        return (int) key == len && Arrays.equals(pool, start, start + len, bytes, from, from + len);
    }

    private static int hash(byte[] bytes, int from, int len) {
        int h = 0x9E3779B9 ^ len;
        for (int i = from, end = from + len; i < end; i++) h = (h ^ bytes[i]) * 0x01000193;
        return h ^ (h >>> 16);
    }
}

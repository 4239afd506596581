package dev.herd.engine.tokenizer;

import java.util.Arrays;

/**
 * An immutable map from byte strings to non-negative ints that looks up a range of a caller's
 * array without copying it: BPE asks "is bytes[start, end) a token?" millions of times, and a
 * {@code HashMap<ByteBuffer, Integer>} would allocate a key for every question.
 */
final class ByteSequenceMap {
    private final byte[] pool;
    private final int[] keyStart;
    private final int[] keyLength;
    private final int[] values;
    /** Open addressing, linear probing; entries index into the key arrays, -1 = empty. */
    private final int[] slots;
    private final int mask;

    private ByteSequenceMap(byte[] pool, int[] keyStart, int[] keyLength, int[] values) {
        this.pool = pool;
        this.keyStart = keyStart;
        this.keyLength = keyLength;
        this.values = values;
        int capacity = Integer.highestOneBit(Math.max(4, values.length * 2 - 1)) << 1;
        this.slots = new int[capacity];
        this.mask = capacity - 1;
        Arrays.fill(slots, -1);
        for (int e = 0; e < values.length; e++) {
            int slot = hash(pool, keyStart[e], keyLength[e]) & mask;
            while (slots[slot] >= 0) {
                int other = slots[slot];
                if (equalsAt(other, pool, keyStart[e], keyLength[e])) {
                    throw new IllegalArgumentException("duplicate key for values " + values[other] + " and " + values[e]);
                }
                slot = (slot + 1) & mask;
            }
            slots[slot] = e;
        }
    }

    /** Keys are the non-null entries of {@code keys}; each maps to its index. */
    static ByteSequenceMap indexOf(byte[][] keys) {
        int n = 0;
        long total = 0;
        for (byte[] k : keys) {
            if (k != null) { n++; total += k.length; }
        }
        if (total > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("vocabulary too large: " + total + " bytes");
        byte[] pool = new byte[(int) total];
        int[] start = new int[n], length = new int[n], values = new int[n];
        int e = 0, at = 0;
        for (int id = 0; id < keys.length; id++) {
            byte[] k = keys[id];
            if (k == null) continue;
            System.arraycopy(k, 0, pool, at, k.length);
            start[e] = at;
            length[e] = k.length;
            values[e] = id;
            at += k.length;
            e++;
        }
        return new ByteSequenceMap(pool, start, length, values);
    }

    /** The value of {@code bytes[from, to)}, or -1. */
    int get(byte[] bytes, int from, int to) {
        int len = to - from;
        int slot = hash(bytes, from, len) & mask;
        for (int e; (e = slots[slot]) >= 0; slot = (slot + 1) & mask) {
            if (equalsAt(e, bytes, from, len)) return values[e];
        }
        return -1;
    }

    int get(byte[] bytes) {
        return get(bytes, 0, bytes.length);
    }

    private boolean equalsAt(int entry, byte[] bytes, int from, int len) {
        int s = keyStart[entry];
        return keyLength[entry] == len && Arrays.equals(pool, s, s + len, bytes, from, from + len);
    }

    private static int hash(byte[] bytes, int from, int len) {
        int h = 0x9E3779B9 ^ len;
        for (int i = from, end = from + len; i < end; i++) h = (h ^ bytes[i]) * 0x01000193;
        return h ^ (h >>> 16);
    }
}

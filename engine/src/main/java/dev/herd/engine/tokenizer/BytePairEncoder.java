package dev.herd.engine.tokenizer;

/**
 * Byte-pair encoding of one pre-token: start from one symbol per byte and repeatedly join the
 * adjacent pair with the lowest rank (the leftmost on ties) until no pair has a rank. Symbols form
 * a linked list and candidate pairs a min-heap keyed by {@code rank << 32 | position}, so a piece
 * of n bytes costs O(n log n) rather than the O(n²) of rescanning after every merge.
 *
 * <p>Two rank sources: a GGUF vocabulary's merge rules (a pair of token ids has a rank), as
 * llama.cpp and Hugging Face apply them; or tiktoken's ranks, where a pair's rank is the rank of
 * the concatenated bytes and the merged token is that rank.
 */
final class BytePairEncoder {

    /** Ranks adjacent symbols: {@code rank << 32 | mergedId}, or -1 when they do not merge. */
    interface PairRanks {
        long rank(byte[] piece, int leftStart, int leftId, int rightEnd, int rightId);
    }

    /** tiktoken: the pair's rank is the rank (= id) of its bytes. */
    static PairRanks byMergedBytes(ByteSequenceMap ranks) {
        return (piece, leftStart, leftId, rightEnd, rightId) -> {
            int r = ranks.get(piece, leftStart, rightEnd);
            return r < 0 ? -1 : ((long) r << 32) | r;
        };
    }

    /** GGUF / Hugging Face: the pair's rank is the index of its merge rule. */
    static PairRanks byMergeRules(MergeTable merges) {
        return (piece, leftStart, leftId, rightEnd, rightId) -> merges.find(leftId, rightId);
    }

    private final int[] byteTokens;
    private final PairRanks ranks;
    /** When set, a piece that is itself a token is that token, without merging (tiktoken's shortcut). */
    private final ByteSequenceMap wholePieceTokens;

    BytePairEncoder(int[] byteTokens, PairRanks ranks, ByteSequenceMap wholePieceTokens) {
        if (byteTokens.length != 256) throw new IllegalArgumentException("need 256 byte tokens");
        this.byteTokens = byteTokens.clone();
        this.ranks = ranks;
        this.wholePieceTokens = wholePieceTokens;
    }

    /** Appends the ids of {@code piece[0, len)} to {@code out}. */
    void encode(byte[] piece, int len, IntList out) {
        if (len == 0) return;
        if (len == 1) {
            out.add(byteTokens[piece[0] & 0xFF]);
            return;
        }
        if (wholePieceTokens != null) {
            int id = wholePieceTokens.get(piece, 0, len);
            if (id >= 0) {
                out.add(id);
                return;
            }
        }
        // Symbol i starts at byte i; a merge keeps the left symbol's index, so index = start byte.
        int[] id = new int[len];
        int[] next = new int[len];
        int[] prev = new int[len];
        boolean[] dead = new boolean[len];
        for (int i = 0; i < len; i++) {
            id[i] = byteTokens[piece[i] & 0xFF];
            next[i] = i + 1 < len ? i + 1 : -1;
            prev[i] = i - 1;
        }
        LongHeap heap = new LongHeap(len);
        for (int i = 0; i + 1 < len; i++) offer(heap, piece, len, id, next, i);
        while (!heap.isEmpty()) {
            long top = heap.poll();
            int left = (int) top;
            int rank = (int) (top >>> 32);
            int right = next[left];
            if (dead[left] || right < 0) continue;
            long current = ranks.rank(piece, left, id[left], end(next, right, len), id[right]);
            // A stale entry (its pair has changed since) no longer has this rank; the current pair has its own entry.
            if (current < 0 || (int) (current >>> 32) != rank) continue;
            id[left] = (int) current;
            dead[right] = true;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            if (prev[left] >= 0) offer(heap, piece, len, id, next, prev[left]);
            offer(heap, piece, len, id, next, left);
        }
        for (int s = 0; s >= 0; s = next[s]) out.add(id[s]);
    }

    private void offer(LongHeap heap, byte[] piece, int len, int[] id, int[] next, int left) {
        int right = next[left];
        if (right < 0) return;
        long r = ranks.rank(piece, left, id[left], end(next, right, len), id[right]);
        if (r >= 0) heap.add((r >>> 32) << 32 | left);
    }

    private static int end(int[] next, int symbol, int len) {
        return next[symbol] < 0 ? len : next[symbol];
    }

    /** A binary min-heap of longs. */
    private static final class LongHeap {
        private long[] items;
        private int size;

        LongHeap(int capacity) { items = new long[Math.max(4, capacity)]; }

        boolean isEmpty() { return size == 0; }

        void add(long v) {
            if (size == items.length) items = java.util.Arrays.copyOf(items, size * 2);
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (items[parent] <= v) break;
                items[i] = items[parent];
                i = parent;
            }
            items[i] = v;
        }

        long poll() {
            long top = items[0];
            long last = items[--size];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= size) break;
                if (child + 1 < size && items[child + 1] < items[child]) child++;
                if (items[child] >= last) break;
                items[i] = items[child];
                i = child;
            }
            items[i] = last;
            return top;
        }
    }
}

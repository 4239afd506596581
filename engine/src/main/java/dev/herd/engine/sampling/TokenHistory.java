package dev.herd.engine.sampling;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/** The last N tokens of a sequence with their counts, for the penalties (N = -1: all of them). */
final class TokenHistory {

    private final int window;
    private final ArrayDeque<Integer> recent = new ArrayDeque<>();
    private final Map<Integer, Integer> counts = new HashMap<>();

    TokenHistory(int window) {
        this.window = window;
    }

    void add(int token) {
        if (window == 0) return;
        recent.addLast(token);
        counts.merge(token, 1, Integer::sum);
        if (window > 0 && recent.size() > window) {
            int old = recent.removeFirst();
            counts.computeIfPresent(old, (k, c) -> c == 1 ? null : c - 1);
        }
    }

    interface CountConsumer {
        void accept(int token, int count);
    }

    void forEachCount(CountConsumer consumer) {
        counts.forEach(consumer::accept);
    }
}

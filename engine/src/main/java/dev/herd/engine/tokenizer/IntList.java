package dev.herd.engine.tokenizer;

import java.util.Arrays;

/** A growable int array, to collect token ids without boxing. */
final class IntList {
    private int[] items;
    private int size;

    IntList(int capacity) { items = new int[Math.max(4, capacity)]; }

    void add(int v) {
        if (size == items.length) items = Arrays.copyOf(items, size * 2);
        items[size++] = v;
    }

    int size() { return size; }

    int[] toArray() { return Arrays.copyOf(items, size); }
}

package dev.herd.engine.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The heap segments of the float arrays a thread last handed to native code. A decode step makes
 * about a thousand native calls with a few step buffers each loop, and {@code MemorySegment.ofArray}
 * per call (two objects the JIT cannot remove, since they reach the downcall) was the largest
 * steady garbage of the hot loop. Four entries per thread, replaced in turn, so an array outlives
 * its last use here by at most the next four new arrays this thread passes.
 */
public final class HeapSegments {
    private HeapSegments() {}

    private static final int ENTRIES = 4;
    private static final ThreadLocal<Cache> CACHE = ThreadLocal.withInitial(Cache::new);

    private static final class Cache {
        final float[][] arrays = new float[ENTRIES][];
        final MemorySegment[] segments = new MemorySegment[ENTRIES];
        int next;
    }

    /** {@code MemorySegment.ofArray(array)}, reused when this thread passed the same array recently. */
    public static MemorySegment of(float[] array) {
        Cache c = CACHE.get();
        for (int i = 0; i < ENTRIES; i++) if (c.arrays[i] == array) return c.segments[i];
        MemorySegment s = MemorySegment.ofArray(array);
        c.arrays[c.next] = array;
        c.segments[c.next] = s;
        c.next = (c.next + 1) % ENTRIES;
        return s;
    }
}

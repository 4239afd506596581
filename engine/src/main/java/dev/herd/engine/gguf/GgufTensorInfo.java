package dev.herd.engine.gguf;

import dev.herd.engine.tensor.GgmlType;

import java.util.Arrays;

/**
 * A tensor as the GGUF header declares it.
 *
 * @param ne       dimensions, innermost first (ggml order: {@code ne[0]} is the row length)
 * @param offset   byte offset inside the file's data section
 * @param byteSize bytes of data
 */
public record GgufTensorInfo(String name, long[] ne, GgmlType type, long offset, long byteSize) {

    public GgufTensorInfo {
        ne = ne.clone();
    }

    @Override
    public long[] ne() { return ne.clone(); }

    public long ne(int dim) { return dim < ne.length ? ne[dim] : 1; }

    public int nDims() { return ne.length; }

    public long elementCount() {
        long n = 1;
        for (long d : ne) n *= d;
        return n;
    }

    /** Rows of length {@code ne[0]} (all outer dimensions flattened). */
    public long rowCount() { return elementCount() / Math.max(1, ne[0]); }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(ne);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && name.equals(t.name) && Arrays.equals(ne, t.ne)
                && type == t.type && offset == t.offset && byteSize == t.byteSize;
    }

    @Override
    public int hashCode() { return name.hashCode() * 31 + Arrays.hashCode(ne); }
}

package dev.herd.engine;

import java.util.Locale;

/**
 * How the KV cache stores keys and values. {@link #F32} is the precision the reference
 * implementations compute with and herd's default; {@link #F16} (llama.cpp's default) halves the
 * cache's memory and the bytes attention reads, so twice the positions fit in a budget, at the
 * cost of rounding every key and value to 11 significant bits. Either way, a sequence's results
 * do not depend on the batch it runs in.
 */
public enum KvCacheType {
    F32(4),
    F16(2);

    private final int elementBytes;

    KvCacheType(int elementBytes) {
        this.elementBytes = elementBytes;
    }

    /** Bytes per stored key or value element. */
    public int elementBytes() { return elementBytes; }

    /** The lower-case name used in configuration: {@code f32} or {@code f16}. */
    public String id() { return name().toLowerCase(Locale.ROOT); }

    /** {@code f32} or {@code f16} (any case). */
    public static KvCacheType parse(String text) {
        for (KvCacheType t : values()) {
            if (t.id().equalsIgnoreCase(text.strip())) return t;
        }
        throw new IllegalArgumentException("unknown KV cache type '" + text + "' (expected f32 or f16)");
    }
}

package dev.herd.engine.gguf;

import java.util.Locale;

/** GGUF metadata value types; the on-disk id is the ordinal (0 = UINT8 ... 12 = FLOAT64). */
public enum GgufValueType {
    UINT8(1), INT8(1), UINT16(2), INT16(2), UINT32(4), INT32(4), FLOAT32(4), BOOL(1),
    STRING(8), ARRAY(12), UINT64(8), INT64(8), FLOAT64(8);

    /** Smallest encoded size (for strings and arrays: their length prefix), used to bound counts before allocating. */
    final int minBytes;

    GgufValueType(int minBytes) { this.minBytes = minBytes; }

    private static final GgufValueType[] BY_ID = values();

    public int id() { return ordinal(); }

    /** The type with this on-disk id, or null when GGUF defines none. */
    public static GgufValueType byId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    }

    /** The spec's lower-case name ({@code uint32}, {@code string}, ...). */
    public String displayName() { return name().toLowerCase(Locale.ROOT); }

    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }

    /** Whether {@code v} is representable in this integer type (UINT64 values above 2^63-1 are stored wrapped, so any long fits). */
    boolean holds(long v) {
        return switch (this) {
            case UINT8 -> v >= 0 && v <= 0xff;
            case INT8 -> v >= Byte.MIN_VALUE && v <= Byte.MAX_VALUE;
            case UINT16 -> v >= 0 && v <= 0xffff;
            case INT16 -> v >= Short.MIN_VALUE && v <= Short.MAX_VALUE;
            case UINT32 -> v >= 0 && v <= 0xffffffffL;
            case INT32 -> v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE;
            case UINT64, INT64 -> true;
            default -> false;
        };
    }
}

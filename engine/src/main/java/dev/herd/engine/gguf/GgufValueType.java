package dev.herd.engine.gguf;

/** GGUF metadata value types, by their on-disk id. */
public enum GgufValueType {
    UINT8(1), INT8(1), UINT16(2), INT16(2), UINT32(4), INT32(4), FLOAT32(4), BOOL(1),
    STRING(8), ARRAY(12), UINT64(8), INT64(8), FLOAT64(8);

    /** Smallest encoded size (for strings and arrays: their length prefix), used to bound counts before allocating. */
    final int minBytes;

    GgufValueType(int minBytes) { this.minBytes = minBytes; }

    private static final GgufValueType[] BY_ID = values();

    public int id() { return ordinal(); }

    static GgufValueType byId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    }

    boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }
}

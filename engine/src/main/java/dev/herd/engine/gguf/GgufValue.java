package dev.herd.engine.gguf;

import java.util.Objects;

/**
 * A metadata value with its exact on-disk type, so a file can be re-written byte for byte.
 * Integers of every width are {@link Long} (UINT64 values above {@code Long.MAX_VALUE} wrap),
 * FLOAT32 is {@link Float}, FLOAT64 {@link Double}, BOOL {@link Boolean}, STRING {@link String}
 * and ARRAY a {@link GgufArray}. The constructor rejects a value that does not fit its type.
 */
public record GgufValue(GgufValueType type, Object value) {

    public GgufValue {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        boolean fits = switch (type) {
            case FLOAT32 -> value instanceof Float;
            case FLOAT64 -> value instanceof Double;
            case BOOL -> value instanceof Boolean;
            case STRING -> value instanceof String;
            case ARRAY -> value instanceof GgufArray;
            default -> value instanceof Long n && type.holds(n);
        };
        if (!fits) {
            throw new IllegalArgumentException("a GGUF " + type.displayName() + " cannot hold "
                    + value.getClass().getSimpleName() + " " + GgufArray.describe(value));
        }
    }

    public static GgufValue uint8(int v) { return new GgufValue(GgufValueType.UINT8, (long) v); }
    public static GgufValue int8(int v) { return new GgufValue(GgufValueType.INT8, (long) v); }
    public static GgufValue uint16(int v) { return new GgufValue(GgufValueType.UINT16, (long) v); }
    public static GgufValue int16(int v) { return new GgufValue(GgufValueType.INT16, (long) v); }
    public static GgufValue uint32(long v) { return new GgufValue(GgufValueType.UINT32, v); }
    public static GgufValue int32(int v) { return new GgufValue(GgufValueType.INT32, (long) v); }
    /** {@code v} is read as unsigned: -1 stands for 2^64-1. */
    public static GgufValue uint64(long v) { return new GgufValue(GgufValueType.UINT64, v); }
    public static GgufValue int64(long v) { return new GgufValue(GgufValueType.INT64, v); }
    public static GgufValue float32(float v) { return new GgufValue(GgufValueType.FLOAT32, v); }
    public static GgufValue float64(double v) { return new GgufValue(GgufValueType.FLOAT64, v); }
    public static GgufValue bool(boolean v) { return new GgufValue(GgufValueType.BOOL, v); }
    public static GgufValue string(String v) { return new GgufValue(GgufValueType.STRING, v); }
    public static GgufValue array(GgufArray v) { return new GgufValue(GgufValueType.ARRAY, v); }

    /**
     * The value as {@link GgufFile#metadata()} gives it: scalars as they are, arrays as plain Java
     * arrays ({@code long[]}, {@code float[]}, ..., {@code Object[]} for arrays of arrays).
     */
    public Object plain() {
        return value instanceof GgufArray a ? a.plain() : value;
    }

    /** The value for people: unsigned integers as unsigned, strings quoted, arrays summarised. */
    @Override
    public String toString() {
        return switch (type) {
            case UINT64 -> Long.toUnsignedString((Long) value);
            case STRING -> '"' + (String) value + '"';
            default -> value.toString();
        };
    }
}

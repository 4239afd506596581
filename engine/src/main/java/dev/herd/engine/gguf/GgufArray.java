package dev.herd.engine.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * A metadata array with its element type. {@code elements} is a {@code long[]} for every integer
 * type (each value within the type's range), {@code float[]} for FLOAT32, {@code double[]} for
 * FLOAT64, {@code boolean[]} for BOOL, {@code String[]} for STRING and {@code GgufArray[]} for
 * arrays of arrays (each inner array carries its own element type, as on disk). Arrays are shared,
 * not copied: do not modify them after handing them over.
 */
public record GgufArray(GgufValueType elementType, Object elements) {

    public GgufArray {
        Objects.requireNonNull(elementType, "elementType");
        Objects.requireNonNull(elements, "elements");
        boolean fits = switch (elementType) {
            case FLOAT32 -> elements instanceof float[];
            case FLOAT64 -> elements instanceof double[];
            case BOOL -> elements instanceof boolean[];
            case STRING -> elements instanceof String[] s && Arrays.stream(s).allMatch(Objects::nonNull);
            case ARRAY -> elements instanceof GgufArray[] a && Arrays.stream(a).allMatch(Objects::nonNull);
            default -> elements instanceof long[] l && Arrays.stream(l).allMatch(elementType::holds);
        };
        if (!fits) {
            throw new IllegalArgumentException("not a valid GGUF array of " + elementType.displayName() + ": " + describe(elements)
                    + (elements instanceof long[] ? " (a value is out of range)" : ""));
        }
    }

    public static GgufArray ofStrings(String... v) { return new GgufArray(GgufValueType.STRING, v); }
    public static GgufArray ofInt32(int... v) { return new GgufArray(GgufValueType.INT32, Arrays.stream(v).asLongStream().toArray()); }
    public static GgufArray ofUint32(long... v) { return new GgufArray(GgufValueType.UINT32, v); }
    public static GgufArray ofFloat32(float... v) { return new GgufArray(GgufValueType.FLOAT32, v); }
    public static GgufArray ofBool(boolean... v) { return new GgufArray(GgufValueType.BOOL, v); }
    public static GgufArray ofArrays(GgufArray... v) { return new GgufArray(GgufValueType.ARRAY, v); }
    /** An array of any integer type. */
    public static GgufArray ofIntegers(GgufValueType type, long... v) {
        if (!type.isInteger()) throw new IllegalArgumentException(type + " is not an integer type");
        return new GgufArray(type, v);
    }

    public int length() { return java.lang.reflect.Array.getLength(elements); }

    /** As {@link GgufFile#metadata()} gives it: the Java array, arrays of arrays as {@code Object[]}. */
    public Object plain() {
        if (elements instanceof GgufArray[] nested) {
            Object[] out = new Object[nested.length];
            for (int i = 0; i < nested.length; i++) out[i] = nested[i].plain();
            return out;
        }
        return elements;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufArray a && elementType == a.elementType && Objects.deepEquals(elements, a.elements);
    }

    @Override
    public int hashCode() {
        return elementType.hashCode() * 31 + Arrays.deepHashCode(new Object[]{elements});
    }

    @Override
    public String toString() {
        return "[" + elementType.displayName() + "; " + length() + "]";
    }

    static String describe(Object v) {
        if (v != null && v.getClass().isArray()) {
            return v.getClass().getComponentType().getSimpleName() + "[" + java.lang.reflect.Array.getLength(v) + "]";
        }
        return String.valueOf(v);
    }
}

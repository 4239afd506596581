package dev.herd.engine.gguf;

import dev.herd.engine.tensor.Tensor;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model stored as one GGUF file or split across several ({@code name-00001-of-00003.gguf}, as
 * {@code gguf-split} writes them: the first part holds the metadata, every part holds
 * {@code split.*} keys and some of the tensors). Tensors of every part are reachable by name.
 */
public final class GgufModel implements AutoCloseable {

    private static final Pattern SPLIT_NAME = Pattern.compile("(.*)-(\\d{5})-of-(\\d{5})\\.gguf");

    private final List<GgufFile> parts;
    private final Map<String, Tensor> tensors;
    private final Metadata metadata;

    private GgufModel(List<GgufFile> parts, Map<String, Tensor> tensors) {
        this.parts = List.copyOf(parts);
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = new Metadata(parts.getFirst().path(), parts.getFirst().metadata());
    }

    public static final String SPLIT_NO = "split.no";
    public static final String SPLIT_COUNT = "split.count";
    public static final String SPLIT_TENSORS_COUNT = "split.tensors.count";

    /** The name of part {@code index} (0-based) of {@code count}, as gguf-split and llama.cpp spell it. */
    public static Path splitPath(Path prefix, int index, int count) {
        return prefix.resolveSibling(String.format("%s-%05d-of-%05d.gguf", prefix.getFileName(), index + 1, count));
    }

    /**
     * Opens a single GGUF file, or every part of a split model given its first part. Parts are
     * checked as llama.cpp checks them: each must exist, declare its own index and the same count,
     * and no tensor may appear in two parts; {@code split.tensors.count}, when present, must match.
     */
    public static GgufModel open(Path path) throws IOException {
        List<GgufFile> parts = new ArrayList<>();
        try {
            GgufFile first = GgufFile.open(path);
            parts.add(first);
            long splitCount = splitKey(first, SPLIT_COUNT, 1);
            if (splitCount > 1) {
                long splitNo = splitKey(first, SPLIT_NO, 0);
                Matcher m = SPLIT_NAME.matcher(path.getFileName().toString());
                if (splitNo != 0) {
                    String firstName = m.matches() ? splitPath(path.resolveSibling(m.group(1)), 0, (int) splitCount).getFileName().toString()
                            : "the part with split.no = 0";
                    throw new GgufFormatException(path, "is part " + (splitNo + 1) + " of a split model (split.no = " + splitNo
                            + "); open its first part, " + firstName);
                }
                if (!m.matches() || Integer.parseInt(m.group(2)) != 1 || Integer.parseInt(m.group(3)) != splitCount) {
                    throw new GgufFormatException(path, "declares split.count = " + splitCount + " but is not named <prefix>-00001-of-"
                            + String.format("%05d", splitCount) + ".gguf, so its other parts cannot be found");
                }
                for (int i = 1; i < splitCount; i++) {
                    Path part = splitPath(path.resolveSibling(m.group(1)), i, (int) splitCount);
                    if (!Files.exists(part)) {
                        throw new FileNotFoundException(path + ": split part " + (i + 1) + " of " + splitCount + " is missing: " + part);
                    }
                    GgufFile f = GgufFile.open(part);
                    parts.add(f);
                    long no = splitKey(f, SPLIT_NO, -1);
                    long count = splitKey(f, SPLIT_COUNT, -1);
                    if (no != i || count != splitCount) {
                        throw new GgufFormatException(part, "should be part " + (i + 1) + " of " + splitCount + " (split.no = " + i
                                + ", split.count = " + splitCount + ") but declares split.no = " + show(no) + ", split.count = " + show(count));
                    }
                }
            }
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, Path> partOf = new LinkedHashMap<>();
            for (GgufFile f : parts) {
                for (GgufTensorInfo info : f.tensors().values()) {
                    Path previous = partOf.putIfAbsent(info.name(), f.path());
                    if (previous != null) {
                        throw new GgufFormatException(f.path(), "tensor " + GgufFile.quote(info.name()) + " is also in split part " + previous);
                    }
                    tensors.put(info.name(), new Tensor(info.name(), info.type(), info.ne(), f.tensorData(info)));
                }
            }
            for (GgufFile f : parts) {
                long total = splitKey(f, SPLIT_TENSORS_COUNT, -1);
                if (total != -1 && total != tensors.size()) {
                    throw new GgufFormatException(f.path(), "split.tensors.count = " + total + " but the " + parts.size()
                            + " part(s) hold " + tensors.size() + " tensors");
                }
            }
            return new GgufModel(parts, tensors);
        } catch (IOException | RuntimeException | Error e) {
            parts.forEach(GgufFile::close);
            throw e;
        }
    }

    private static String show(long v) { return v == -1 ? "(absent)" : Long.toString(v); }

    /** A split.* key: a small non-negative integer of any integer type, or {@code absent} when missing. */
    private static long splitKey(GgufFile f, String key, long absent) throws GgufFormatException {
        GgufValue v = f.entries().get(key);
        if (v == null) return absent;
        if (!v.type().isInteger() || (Long) v.value() < 0 || (Long) v.value() > (key.equals(SPLIT_TENSORS_COUNT) ? Integer.MAX_VALUE : 99_999)) {
            throw new GgufFormatException(f.path(), key + " must be a small non-negative integer, got " + v.type().displayName() + " " + v);
        }
        return (Long) v.value();
    }

    public Path path() { return parts.getFirst().path(); }

    public List<GgufFile> parts() { return parts; }

    public Metadata metadata() { return metadata; }

    /** Every tensor, by name, in file order. */
    public Map<String, Tensor> tensors() { return tensors; }

    /** The tensor, or null when absent. */
    public Tensor tensorOrNull(String name) { return tensors.get(name); }

    /** The tensor; a missing one is a {@link GgufFormatException} naming it. */
    public Tensor tensor(String name) throws GgufFormatException {
        Tensor t = tensors.get(name);
        if (t == null) throw new GgufFormatException(path(), "required tensor '" + name + "' is missing");
        return t;
    }

    @Override
    public void close() {
        parts.forEach(GgufFile::close);
    }

    /** Typed, checked access to GGUF metadata; errors name the key and what was expected. */
    public static final class Metadata {
        private final Path path;
        private final Map<String, Object> values;

        public Metadata(Path path, Map<String, Object> values) {
            this.path = path;
            this.values = values;
        }

        public Map<String, Object> asMap() { return values; }

        /** The file the metadata came from (for error messages). */
        public Path path() { return path; }

        public boolean has(String key) { return values.containsKey(key); }

        public Object get(String key) { return values.get(key); }

        public String string(String key) throws GgufFormatException {
            Object v = require(key);
            if (v instanceof String s) return s;
            throw wrongType(key, "a string", v);
        }

        public String string(String key, String fallback) throws GgufFormatException {
            return has(key) ? string(key) : fallback;
        }

        public long integer(String key) throws GgufFormatException {
            Object v = require(key);
            if (v instanceof Long n) return n;
            throw wrongType(key, "an integer", v);
        }

        public int int32(String key) throws GgufFormatException {
            long n = integer(key);
            if (n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) throw new GgufFormatException(path, "metadata '" + key + "' = " + n + " does not fit in 32 bits");
            return (int) n;
        }

        public int int32(String key, int fallback) throws GgufFormatException {
            return has(key) ? int32(key) : fallback;
        }

        /** A float key (also accepts an integer or a double). */
        public float float32(String key) throws GgufFormatException {
            Object v = require(key);
            if (v instanceof Float f) return f;
            if (v instanceof Double d) return d.floatValue();
            if (v instanceof Long n) return n;
            throw wrongType(key, "a number", v);
        }

        public float float32(String key, float fallback) throws GgufFormatException {
            return has(key) ? float32(key) : fallback;
        }

        public boolean bool(String key, boolean fallback) throws GgufFormatException {
            if (!has(key)) return fallback;
            Object v = values.get(key);
            if (v instanceof Boolean b) return b;
            throw wrongType(key, "a bool", v);
        }

        public String[] stringArray(String key) throws GgufFormatException {
            Object v = require(key);
            if (v instanceof String[] a) return a;
            throw wrongType(key, "an array of strings", v);
        }

        /** An integer array as ints; values outside 32 bits are an error. */
        public int[] intArray(String key) throws GgufFormatException {
            Object v = require(key);
            if (v instanceof long[] a) {
                int[] out = new int[a.length];
                for (int i = 0; i < a.length; i++) {
                    if (a[i] < Integer.MIN_VALUE || a[i] > Integer.MAX_VALUE) {
                        throw new GgufFormatException(path, "metadata '" + key + "'[" + i + "] = " + a[i] + " does not fit in 32 bits");
                    }
                    out[i] = (int) a[i];
                }
                return out;
            }
            throw wrongType(key, "an array of integers", v);
        }

        public float[] floatArray(String key) throws GgufFormatException {
            Object v = require(key);
            if (v instanceof float[] a) return a;
            if (v instanceof double[] d) {
                float[] out = new float[d.length];
                for (int i = 0; i < d.length; i++) out[i] = (float) d[i];
                return out;
            }
            if (v instanceof long[] l) {
                float[] out = new float[l.length];
                for (int i = 0; i < l.length; i++) out[i] = l[i];
                return out;
            }
            throw wrongType(key, "an array of numbers", v);
        }

        private Object require(String key) throws GgufFormatException {
            Object v = values.get(key);
            if (v == null) throw new GgufFormatException(path, "required metadata key '" + key + "' is missing");
            return v;
        }

        private GgufFormatException wrongType(String key, String expected, Object v) {
            return new GgufFormatException(path, "metadata '" + key + "' should be " + expected + " but is " + describe(v));
        }

        static String describe(Object v) {
            if (v instanceof Object[] a) return "an array of " + a.length + " arrays";
            if (v != null && v.getClass().isArray()) return "an array of " + java.lang.reflect.Array.getLength(v) + " " + v.getClass().getComponentType().getSimpleName() + "s";
            return v == null ? "absent" : v.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT) + " " + v;
        }
    }
}

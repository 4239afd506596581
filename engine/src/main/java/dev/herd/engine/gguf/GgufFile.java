package dev.herd.engine.gguf;

import dev.herd.engine.tensor.GgmlType;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One GGUF file (versions 2 and 3), memory-mapped read-only with the FFM API so a file of any size
 * maps without copying. Every count, length, offset and size the file declares is checked against
 * the bytes actually present and against sane limits before anything is allocated or read, so a
 * truncated, corrupt or hostile file gets a {@link GgufFormatException} naming the file, the field
 * and its byte offset. The checks are those of llama.cpp's own loader ({@code ggml/src/gguf.cpp})
 * plus heap limits; see {@code docs/gguf.md}.
 *
 * <p>Split models ({@code name-00001-of-00003.gguf}) are opened with {@link GgufModel}.
 */
public final class GgufFile implements AutoCloseable {

    static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian int
    public static final int DEFAULT_ALIGNMENT = 32;
    public static final String ALIGNMENT_KEY = "general.alignment";
    /** ggml's GGML_MAX_DIMS. */
    static final int MAX_DIMS = 4;
    /** The spec limits keys to 65535 bytes. */
    static final int MAX_KEY_BYTES = 65_535;
    /** The spec limits tensor names to 64 bytes (llama.cpp: 63, its buffer holds a NUL). */
    static final int MAX_TENSOR_NAME_BYTES = 64;
    static final int MAX_ARRAY_NESTING = 8;
    static final long MAX_STRING_BYTES = 64L << 20;
    static final long MAX_KV_COUNT = 1 << 20;
    static final long MAX_TENSOR_COUNT = 1 << 20;
    /** Alignment only sets padding, so anything a file really contains is fine up to this. */
    static final long MAX_ALIGNMENT = 1L << 30;
    /**
     * Estimated heap for the parsed header. Real models need a few MB (Llama 4: ~200k tokens and
     * ~500k merges); the limit stops a hostile header that is backed by real bytes (e.g. a 1-billion
     * element array inside a 60 GB file) from exhausting the heap.
     */
    static final long MAX_HEADER_HEAP_BYTES = 512L << 20;

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final int version;
    private final Map<String, GgufValue> entries;
    private final Map<String, Object> metadata;
    private final Map<String, GgufValueType> metadataTypes;
    private final Map<String, GgufTensorInfo> tensors;
    private final int alignment;
    private final long dataOffset;

    private GgufFile(Path path, Arena arena, MemorySegment file, int version, Map<String, GgufValue> entries,
                     Map<String, GgufTensorInfo> tensors, int alignment, long dataOffset) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        this.version = version;
        this.entries = Collections.unmodifiableMap(entries);
        Map<String, Object> plain = new LinkedHashMap<>();
        Map<String, GgufValueType> types = new LinkedHashMap<>();
        entries.forEach((k, v) -> {
            plain.put(k, v.plain());
            types.put(k, v.type());
        });
        this.metadata = Collections.unmodifiableMap(plain);
        this.metadataTypes = Collections.unmodifiableMap(types);
        this.tensors = Collections.unmodifiableMap(tensors);
        this.alignment = alignment;
        this.dataOffset = dataOffset;
    }

    /** Maps and parses {@code path}. The mapping lives until {@link #close()}. */
    public static GgufFile open(Path path) throws IOException {
        if (Files.isDirectory(path)) throw new FileNotFoundException(path + ": is a directory, not a GGUF file");
        if (!Files.exists(path)) throw new FileNotFoundException(path + ": no such GGUF file");
        if (!Files.isRegularFile(path)) throw new FileNotFoundException(path + ": not a regular file");
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            MemorySegment file = size == 0 ? MemorySegment.NULL : channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return new Parser(path, file, arena).parse();
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    public Path path() { return path; }

    public int version() { return version; }

    public int alignment() { return alignment; }

    /** Byte offset of the tensor data section in the file. */
    public long dataOffset() { return dataOffset; }

    public long fileSize() { return file.byteSize(); }

    /** Metadata in file order, each value with its exact on-disk type. */
    public Map<String, GgufValue> entries() { return entries; }

    /**
     * Metadata in file order as plain Java values. Integers are {@link Long} (unsigned 64-bit values
     * above {@code Long.MAX_VALUE} wrap), floats {@link Float}/{@link Double}, booleans
     * {@link Boolean}, strings {@link String}; arrays are {@code long[]} (integer elements),
     * {@code float[]}, {@code double[]}, {@code boolean[]}, {@code String[]}, or {@code Object[]}
     * (arrays of arrays). {@link #entries()} has the exact types.
     */
    public Map<String, Object> metadata() { return metadata; }

    /** The declared type of each metadata value (for arrays, {@link GgufValueType#ARRAY}). */
    public Map<String, GgufValueType> metadataTypes() { return metadataTypes; }

    /** Tensor infos in file order. */
    public Map<String, GgufTensorInfo> tensors() { return tensors; }

    /** The bytes of a tensor of this file, a slice of the mapping (no copy). */
    public MemorySegment tensorData(GgufTensorInfo info) {
        if (!info.equals(tensors.get(info.name()))) {
            throw new IllegalArgumentException(path + ": tensor '" + info.name() + "' is not one of this file's tensors");
        }
        return file.asSlice(dataOffset + info.offset(), info.byteSize());
    }

    @Override
    public void close() {
        arena.close();
    }

    @Override
    public String toString() {
        return "GgufFile[" + path + ", v" + version + ", " + entries.size() + " keys, " + tensors.size() + " tensors]";
    }

    /** A string from the file as it may appear in an error message: bounded and printable. */
    static String quote(String s) {
        StringBuilder b = new StringBuilder("'");
        int limit = 80;
        for (int i = 0; i < s.length() && i < limit; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) b.append(String.format("\\x%02x", (int) c));
            else b.append(c);
        }
        if (s.length() > limit) b.append("...(").append(s.length()).append(" chars)");
        return b.append('\'').toString();
    }

    /** Reads the header with explicit bounds checks; each failure names the field being read and its offset. */
    private static final class Parser {
        private final Path path;
        private final MemorySegment file;
        private final Arena arena;
        private final long size;
        private long pos;
        /** Where the field being read starts, for error messages. */
        private long fieldStart;
        private long heapEstimate;
        private long alignmentAt;
        private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);

        Parser(Path path, MemorySegment file, Arena arena) {
            this.path = path;
            this.file = file;
            this.arena = arena;
            this.size = file.byteSize();
        }

        private GgufFormatException error(String message) {
            return new GgufFormatException(path, message + " (at byte offset " + fieldStart + ")");
        }

        private void need(long bytes, String field) throws GgufFormatException {
            if (bytes < 0 || bytes > size - pos) {
                throw new GgufFormatException(path, "truncated: " + field + " needs " + bytes + " bytes at offset " + pos
                        + " but the file has " + (size - pos) + " left (file size " + size + ")");
            }
        }

        /** Accounts for heap the header will hold; fails before the allocation that would pass the limit. */
        private void charge(long bytes, String field) throws GgufFormatException {
            heapEstimate += bytes;
            if (bytes < 0 || heapEstimate > MAX_HEADER_HEAP_BYTES) {
                throw error(field + " would take the header past " + (MAX_HEADER_HEAP_BYTES >> 20)
                        + " MiB of heap; no real model needs that much metadata");
            }
        }

        private int u8(String field) throws GgufFormatException {
            fieldStart = pos;
            need(1, field);
            return file.get(ValueLayout.JAVA_BYTE, pos++) & 0xff;
        }

        private short i16(String field) throws GgufFormatException {
            fieldStart = pos;
            need(2, field);
            short v = file.get(I16, pos);
            pos += 2;
            return v;
        }

        private int i32(String field) throws GgufFormatException {
            fieldStart = pos;
            need(4, field);
            int v = file.get(I32, pos);
            pos += 4;
            return v;
        }

        private long i64(String field) throws GgufFormatException {
            fieldStart = pos;
            need(8, field);
            long v = file.get(I64, pos);
            pos += 8;
            return v;
        }

        private float f32(String field) throws GgufFormatException {
            fieldStart = pos;
            need(4, field);
            float v = file.get(F32, pos);
            pos += 4;
            return v;
        }

        private double f64(String field) throws GgufFormatException {
            fieldStart = pos;
            need(8, field);
            double v = file.get(F64, pos);
            pos += 8;
            return v;
        }

        /** A count that must be at most {@code limit} and fit in the bytes left, given each element's smallest encoding. */
        private long count(String field, long minElementBytes, long limit) throws GgufFormatException {
            long n = i64(field);
            if (n < 0 || n > limit) {
                throw error(field + " is " + Long.toUnsignedString(n) + ", above the limit of " + limit);
            }
            if (minElementBytes > 0 && n > (size - pos) / minElementBytes) {
                throw error(field + " declares " + n + " entries of at least " + minElementBytes
                        + " bytes each, more than the " + (size - pos) + " bytes left in the file can hold");
            }
            return n;
        }

        private String string(String field, long maxBytes) throws GgufFormatException {
            return string(field, -1, maxBytes);
        }

        /** A string; {@code index} >= 0 names an array element (the name is only built for an error, these are many). */
        private String string(String field, int index, long maxBytes) throws GgufFormatException {
            fieldStart = pos;
            if (size - pos < 8) need(8, element(field, index) + " length");
            long len = file.get(I64, pos);
            pos += 8;
            if (len < 0 || len > maxBytes) {
                throw error(element(field, index) + " declares a string of " + Long.toUnsignedString(len) + " bytes (limit " + maxBytes + ")");
            }
            if (len > size - pos) need(len, element(field, index));
            charge(40 + 2 * len, field);
            ByteBuffer bytes = file.asSlice(pos, len).asByteBuffer();
            fieldStart = pos;
            pos += len;
            try {
                return utf8.decode(bytes).toString();
            } catch (CharacterCodingException e) {
                throw error(element(field, index) + " is not valid UTF-8");
            }
        }

        private static String element(String field, int index) {
            return index < 0 ? field : field + "[" + index + "]";
        }

        private GgufValueType valueType(String field) throws GgufFormatException {
            int id = i32(field);
            GgufValueType t = GgufValueType.byId(id);
            if (t == null) throw error(field + " is " + Integer.toUnsignedString(id) + ", not a GGUF value type (0..12)");
            return t;
        }

        private GgufValue value(GgufValueType type, String field) throws GgufFormatException {
            Object v = switch (type) {
                case UINT8 -> (long) u8(field);
                case INT8 -> (long) (byte) u8(field);
                case UINT16 -> (long) (i16(field) & 0xffff);
                case INT16 -> (long) i16(field);
                case UINT32 -> i32(field) & 0xffffffffL;
                case INT32 -> (long) i32(field);
                case UINT64, INT64 -> i64(field);
                case FLOAT32 -> f32(field);
                case FLOAT64 -> f64(field);
                case BOOL -> bool(field, -1);
                case STRING -> string(field, MAX_STRING_BYTES);
                case ARRAY -> array(field, 1);
            };
            return new GgufValue(type, v);
        }

        private boolean bool(String field, int index) throws GgufFormatException {
            int b = u8(field);
            // The spec makes any other byte invalid; llama.cpp reads it as true, we refuse it as corruption.
            if (b > 1) throw error(element(field, index) + " is a bool with byte value " + b + " (expected 0 or 1)");
            return b == 1;
        }

        private GgufArray array(String field, int depth) throws GgufFormatException {
            if (depth > MAX_ARRAY_NESTING) throw error(field + " nests arrays deeper than " + MAX_ARRAY_NESTING + " levels");
            GgufValueType element = valueType(field + " element type");
            int n = (int) count(field + " element count", element.minBytes, Integer.MAX_VALUE - 8);
            charge(24 + 16 + (long) n * (element == GgufValueType.BOOL ? 1 : element == GgufValueType.FLOAT32 ? 4 : 8), field);
            Object elements = switch (element) {
                case FLOAT32 -> {
                    float[] out = new float[n];
                    for (int i = 0; i < n; i++) out[i] = f32(field);
                    yield out;
                }
                case FLOAT64 -> {
                    double[] out = new double[n];
                    for (int i = 0; i < n; i++) out[i] = f64(field);
                    yield out;
                }
                case BOOL -> {
                    boolean[] out = new boolean[n];
                    for (int i = 0; i < n; i++) out[i] = bool(field, i);
                    yield out;
                }
                case STRING -> {
                    String[] out = new String[n];
                    for (int i = 0; i < n; i++) out[i] = string(field, i, MAX_STRING_BYTES);
                    yield out;
                }
                case ARRAY -> {
                    GgufArray[] out = new GgufArray[n];
                    for (int i = 0; i < n; i++) out[i] = array(field + "[" + i + "]", depth + 1);
                    yield out;
                }
                default -> integers(element, n, field);
            };
            return new GgufArray(element, elements);
        }

        private long[] integers(GgufValueType type, int n, String field) throws GgufFormatException {
            long[] out = new long[n];
            fieldStart = pos;
            need((long) n * type.minBytes, field);
            for (int i = 0; i < n; i++) {
                out[i] = switch (type) {
                    case UINT8 -> file.get(ValueLayout.JAVA_BYTE, pos) & 0xffL;
                    case INT8 -> file.get(ValueLayout.JAVA_BYTE, pos);
                    case UINT16 -> file.get(I16, pos) & 0xffffL;
                    case INT16 -> file.get(I16, pos);
                    case UINT32 -> file.get(I32, pos) & 0xffffffffL;
                    case INT32 -> file.get(I32, pos);
                    default -> file.get(I64, pos);
                };
                pos += type.minBytes;
            }
            return out;
        }

        GgufFile parse() throws GgufFormatException {
            if (size < 4) throw error("not a GGUF file: " + size + " bytes, too short for the magic");
            int magic = i32("magic");
            if (magic != MAGIC) {
                String chars = new String(file.asSlice(0, 4).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.ISO_8859_1);
                String hint = switch (chars) {
                    case "lmgg", "fmgg", "tjgg" -> " (a pre-GGUF GGML/GGMF/GGJT file; convert it to GGUF)";
                    case "FUGG" -> " (byte-swapped magic)";
                    default -> "";
                };
                throw error("not a GGUF file: magic is " + quote(chars) + String.format(" (0x%08x), expected 'GGUF'", magic) + hint);
            }
            int version = i32("version");
            if ((version & 0xffff) == 0 && version != 0) {
                throw error("version field is " + Integer.toUnsignedString(version) + " (0x" + Integer.toHexString(version)
                        + "): a big-endian GGUF file, which herd does not read (only little-endian)");
            }
            if (version == 1) throw error("GGUF version 1 is not supported (only versions 2 and 3); re-convert the model");
            if (version != 2 && version != 3) {
                throw error("unsupported GGUF version " + Integer.toUnsignedString(version) + " (expected 2 or 3)");
            }

            // A tensor info takes at least 8 (name length) + 4 (n_dims) + 8 (one dim) + 4 (type) + 8 (offset) bytes.
            long tensorCount = count("tensor_count", 32, MAX_TENSOR_COUNT);
            // A metadata entry takes at least 8 (key length) + 1 (key) + 4 (type) + 1 (value) bytes.
            long kvCount = count("metadata_kv_count", 14, MAX_KV_COUNT);

            Map<String, GgufValue> entries = new LinkedHashMap<>();
            for (long i = 0; i < kvCount; i++) {
                String key = string("metadata key #" + i, MAX_KEY_BYTES);
                if (key.isEmpty()) throw error("metadata key #" + i + " is empty");
                String what = "metadata " + quote(key);
                GgufValueType type = valueType("type of " + what);
                if (key.equals(ALIGNMENT_KEY)) alignmentAt = pos;
                GgufValue value = value(type, what);
                charge(64, what);
                if (entries.putIfAbsent(key, value) != null) throw error(what + " appears twice");
            }
            int alignment = alignment(entries.get(ALIGNMENT_KEY));

            Map<String, GgufTensorInfo> infos = new LinkedHashMap<>();
            for (long i = 0; i < tensorCount; i++) {
                GgufTensorInfo info = tensorInfo(i);
                if (infos.putIfAbsent(info.name(), info) != null) {
                    throw error("tensor name " + quote(info.name()) + " appears twice (tensors #" + indexOf(infos, info.name()) + " and #" + i + ")");
                }
            }

            long headerEnd = pos;
            long dataOffset = (headerEnd + alignment - 1) / alignment * alignment;
            fieldStart = headerEnd;
            // Tensors are packed in file order, each padded to the alignment: the layout every GGUF
            // writer produces and llama.cpp requires. Checking it catches any corrupted offset.
            long expected = 0;
            long dataBytes = size - dataOffset;
            for (GgufTensorInfo t : infos.values()) {
                String what = "tensor " + quote(t.name());
                if (t.offset() != expected) {
                    throw error(what + " has data offset " + Long.toUnsignedString(t.offset()) + ", expected " + expected
                            + " (tensors must follow each other in file order, each padded to the alignment " + alignment + ")");
                }
                if (dataBytes < 0 || t.byteSize() > dataBytes - t.offset()) {
                    throw new GgufFormatException(path, "truncated: " + what + " (" + t.type() + ", " + t.byteSize()
                            + " bytes at file offset " + (dataOffset + t.offset()) + ") ends past the end of the file (file size " + size + ")");
                }
                long padded = (t.byteSize() + alignment - 1) / alignment * alignment;
                expected = t.offset() + padded;
            }
            return new GgufFile(path, arena, file, version, entries, infos, alignment, dataOffset);
        }

        private int alignment(GgufValue declared) throws GgufFormatException {
            if (declared == null) return DEFAULT_ALIGNMENT;
            fieldStart = alignmentAt;
            if (declared.type() != GgufValueType.UINT32) {
                throw error(ALIGNMENT_KEY + " must be a uint32 (GGUF spec), got a " + declared.type().displayName() + " " + declared);
            }
            long a = (Long) declared.value();
            if (a <= 0 || a > MAX_ALIGNMENT || Long.bitCount(a) != 1) {
                throw error(ALIGNMENT_KEY + " must be a power of two up to 2^30, got " + a);
            }
            return (int) a;
        }

        private GgufTensorInfo tensorInfo(long i) throws GgufFormatException {
            String name = string("tensor #" + i + " name", MAX_TENSOR_NAME_BYTES);
            String what = "tensor " + quote(name);
            int nDims = i32(what + " n_dims");
            if (nDims < 1 || nDims > MAX_DIMS) {
                throw error(what + " n_dims is " + Integer.toUnsignedString(nDims) + " (expected 1.." + MAX_DIMS + ")");
            }
            long[] ne = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                ne[d] = i64(what + " ne[" + d + "]");
                if (ne[d] < 0) throw error(what + " ne[" + d + "] is " + Long.toUnsignedString(ne[d]) + ", above 2^63-1");
                try {
                    elements = Math.multiplyExact(elements, ne[d]);
                } catch (ArithmeticException e) {
                    throw error(what + " has more than 2^63-1 elements (ne[0.." + d + "] multiply past 64 bits)");
                }
            }
            int typeId = i32(what + " type");
            GgmlType type = GgmlType.byId(typeId);
            if (type == null) throw error(what + " type is " + Integer.toUnsignedString(typeId) + ", not a ggml type id herd knows");
            if (ne[0] % type.blockSize() != 0) {
                throw error(what + " row length ne[0] = " + ne[0] + " is not a multiple of " + type + "'s block size " + type.blockSize());
            }
            long bytes;
            try {
                bytes = Math.multiplyExact(elements / type.blockSize(), (long) type.blockBytes());
            } catch (ArithmeticException e) {
                throw error(what + " (" + type + ", " + elements + " elements) takes more than 2^63-1 bytes");
            }
            long offset = i64(what + " offset");
            if (offset < 0) throw error(what + " data offset " + Long.toUnsignedString(offset) + " is above 2^63-1");
            charge(160 + 2L * name.length(), what);
            return new GgufTensorInfo(name, ne, type, offset, bytes);
        }

        private static long indexOf(Map<String, GgufTensorInfo> infos, String name) {
            long i = 0;
            for (String n : infos.keySet()) {
                if (n.equals(name)) return i;
                i++;
            }
            return -1;
        }
    }
}

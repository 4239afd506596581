package dev.herd.engine.gguf;

import dev.herd.engine.tensor.GgmlType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
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
 * the bytes actually present (and sane limits) before anything is allocated or read, so a
 * truncated, corrupt or hostile file gets a {@link GgufFormatException} naming the field.
 *
 * <p>Split models ({@code name-00001-of-00003.gguf}) are opened with {@link GgufModel}.
 */
public final class GgufFile implements AutoCloseable {

    static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian int
    public static final int DEFAULT_ALIGNMENT = 32;
    private static final int MAX_DIMS = 4;
    private static final int MAX_ARRAY_NESTING = 4;
    private static final long MAX_STRING_BYTES = 1L << 30;

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, GgufValueType> metadataTypes;
    private final Map<String, GgufTensorInfo> tensors;
    private final int alignment;
    private final long dataOffset;

    private GgufFile(Path path, Arena arena, MemorySegment file, int version, Map<String, Object> metadata,
                     Map<String, GgufValueType> metadataTypes, Map<String, GgufTensorInfo> tensors,
                     int alignment, long dataOffset) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        this.version = version;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.metadataTypes = Collections.unmodifiableMap(metadataTypes);
        this.tensors = Collections.unmodifiableMap(tensors);
        this.alignment = alignment;
        this.dataOffset = dataOffset;
    }

    /** Maps and parses {@code path}. The mapping lives until {@link #close()}. */
    public static GgufFile open(Path path) throws IOException {
        if (!Files.isRegularFile(path)) {
            throw new java.io.FileNotFoundException(path + ": no such GGUF file");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            MemorySegment file = size == 0 ? MemorySegment.NULL.reinterpret(0)
                    : channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return new Parser(path, file, arena).parse();
        } catch (IOException | RuntimeException e) {
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

    /**
     * Metadata in file order. Integers are {@link Long} (unsigned 64-bit values above
     * {@code Long.MAX_VALUE} wrap), floats {@link Float}/{@link Double}, booleans {@link Boolean},
     * strings {@link String}; arrays are {@code long[]} (integer elements), {@code float[]},
     * {@code double[]}, {@code boolean[]}, {@code String[]}, or {@code Object[]} (arrays of arrays).
     */
    public Map<String, Object> metadata() { return metadata; }

    /** The declared type of each metadata value (for arrays, {@link GgufValueType#ARRAY}). */
    public Map<String, GgufValueType> metadataTypes() { return metadataTypes; }

    /** Tensor infos in file order. */
    public Map<String, GgufTensorInfo> tensors() { return tensors; }

    /** The bytes of a tensor of this file, a slice of the mapping (no copy). */
    public MemorySegment tensorData(GgufTensorInfo info) {
        return file.asSlice(dataOffset + info.offset(), info.byteSize());
    }

    @Override
    public void close() {
        arena.close();
    }

    /** Reads the header with explicit bounds checks; each failure names the field being read. */
    private static final class Parser {
        private final Path path;
        private final MemorySegment file;
        private final Arena arena;
        private final long size;
        private long pos;

        Parser(Path path, MemorySegment file, Arena arena) {
            this.path = path;
            this.file = file;
            this.arena = arena;
            this.size = file.byteSize();
        }

        private GgufFormatException error(String message) {
            return new GgufFormatException(path, message);
        }

        private void need(long bytes, String field) throws GgufFormatException {
            if (bytes < 0 || bytes > size - pos) {
                throw error("truncated: " + field + " needs " + bytes + " bytes at offset " + pos
                        + " but the file has " + (size - pos) + " left (file size " + size + ")");
            }
        }

        private int u8(String field) throws GgufFormatException {
            need(1, field);
            return file.get(ValueLayout.JAVA_BYTE, pos++) & 0xff;
        }

        private short i16(String field) throws GgufFormatException {
            need(2, field);
            short v = file.get(I16, pos);
            pos += 2;
            return v;
        }

        private int i32(String field) throws GgufFormatException {
            need(4, field);
            int v = file.get(I32, pos);
            pos += 4;
            return v;
        }

        private long i64(String field) throws GgufFormatException {
            need(8, field);
            long v = file.get(I64, pos);
            pos += 8;
            return v;
        }

        private float f32(String field) throws GgufFormatException {
            need(4, field);
            float v = file.get(F32, pos);
            pos += 4;
            return v;
        }

        private double f64(String field) throws GgufFormatException {
            need(8, field);
            double v = file.get(F64, pos);
            pos += 8;
            return v;
        }

        /** A count that must fit in the remaining bytes given each element's smallest encoding. */
        private long count(String field, long minElementBytes) throws GgufFormatException {
            long n = i64(field);
            if (n < 0 || (minElementBytes > 0 && n > (size - pos) / minElementBytes)) {
                throw error(field + " declares " + Long.toUnsignedString(n) + " entries, more than the "
                        + (size - pos) + " bytes left in the file can hold");
            }
            return n;
        }

        private String string(String field) throws GgufFormatException {
            long len = i64(field + " length");
            if (len < 0 || len > MAX_STRING_BYTES) {
                throw error(field + " declares a string of " + Long.toUnsignedString(len) + " bytes (limit " + MAX_STRING_BYTES + ")");
            }
            need(len, field);
            byte[] bytes = file.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
            pos += len;
            try {
                return StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                throw error(field + " is not valid UTF-8");
            }
        }

        private GgufValueType valueType(String field) throws GgufFormatException {
            int id = i32(field);
            GgufValueType t = GgufValueType.byId(id);
            if (t == null) throw error(field + " has unknown value type id " + id);
            return t;
        }

        private Object value(GgufValueType type, String field, int depth) throws GgufFormatException {
            return switch (type) {
                case UINT8 -> (long) u8(field);
                case INT8 -> (long) (byte) u8(field);
                case UINT16 -> (long) (i16(field) & 0xffff);
                case INT16 -> (long) i16(field);
                case UINT32 -> i32(field) & 0xffffffffL;
                case INT32 -> (long) i32(field);
                case UINT64, INT64 -> i64(field);
                case FLOAT32 -> f32(field);
                case FLOAT64 -> f64(field);
                case BOOL -> {
                    int b = u8(field);
                    if (b > 1) throw error(field + " is a bool with byte value " + b + " (expected 0 or 1)");
                    yield b == 1;
                }
                case STRING -> string(field);
                case ARRAY -> array(field, depth + 1);
            };
        }

        private Object array(String field, int depth) throws GgufFormatException {
            if (depth > MAX_ARRAY_NESTING) throw error(field + " nests arrays deeper than " + MAX_ARRAY_NESTING);
            GgufValueType element = valueType(field + " element type");
            int n = Math.toIntExact(count(field + " element count", element.minBytes));
            if (element.isInteger()) {
                long[] out = new long[n];
                for (int i = 0; i < n; i++) out[i] = (Long) value(element, field, depth);
                return out;
            }
            switch (element) {
                case FLOAT32 -> {
                    float[] out = new float[n];
                    for (int i = 0; i < n; i++) out[i] = f32(field);
                    return out;
                }
                case FLOAT64 -> {
                    double[] out = new double[n];
                    for (int i = 0; i < n; i++) out[i] = f64(field);
                    return out;
                }
                case BOOL -> {
                    boolean[] out = new boolean[n];
                    for (int i = 0; i < n; i++) out[i] = (Boolean) value(element, field, depth);
                    return out;
                }
                case STRING -> {
                    String[] out = new String[n];
                    for (int i = 0; i < n; i++) out[i] = string(field + "[" + i + "]");
                    return out;
                }
                default -> {
                    Object[] out = new Object[n];
                    for (int i = 0; i < n; i++) out[i] = array(field + "[" + i + "]", depth);
                    return out;
                }
            }
        }

        GgufFile parse() throws GgufFormatException {
            if (size < 4) throw error("not a GGUF file: " + size + " bytes, too short for the magic");
            int magic = i32("magic");
            if (magic != MAGIC) {
                throw error(String.format("not a GGUF file: magic is 0x%08x, expected 0x%08x (\"GGUF\")", magic, MAGIC));
            }
            int version = i32("version");
            if (version == 1) throw error("GGUF version 1 is not supported (only versions 2 and 3); re-convert the model");
            if (Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3) {
                throw error("big-endian GGUF (version field " + Integer.toHexString(version) + ") is not supported");
            }
            if (version != 2 && version != 3) throw error("unsupported GGUF version " + version + " (expected 2 or 3)");

            // A tensor info takes at least 8 (name length) + 4 (dims) + 8 (one dim) + 4 (type) + 8 (offset) bytes.
            long tensorCount = count("tensor_count", 32);
            // A metadata entry takes at least 8 (key length) + 4 (type) + 1 (value) bytes.
            long kvCount = count("metadata_kv_count", 13);

            Map<String, Object> metadata = new LinkedHashMap<>();
            Map<String, GgufValueType> types = new LinkedHashMap<>();
            for (long i = 0; i < kvCount; i++) {
                String key = string("metadata key #" + i);
                GgufValueType type = valueType("type of metadata '" + key + "'");
                Object value = value(type, "metadata '" + key + "'", 0);
                if (metadata.putIfAbsent(key, value) != null) throw error("metadata key '" + key + "' appears twice");
                types.put(key, type);
            }

            int alignment = DEFAULT_ALIGNMENT;
            Object declared = metadata.get("general.alignment");
            if (declared != null) {
                if (!(declared instanceof Long a) || a <= 0 || a > (1 << 20) || Long.bitCount(a) != 1) {
                    throw error("general.alignment must be a power of two up to 1 MiB, got " + declared);
                }
                alignment = (int) (long) a;
            }

            Map<String, GgufTensorInfo> infos = new LinkedHashMap<>();
            for (long i = 0; i < tensorCount; i++) {
                String name = string("tensor #" + i + " name");
                String what = "tensor '" + name + "'";
                int nDims = i32(what + " n_dims");
                if (nDims < 1 || nDims > MAX_DIMS) throw error(what + " has " + nDims + " dimensions (expected 1.." + MAX_DIMS + ")");
                long[] ne = new long[nDims];
                long elements = 1;
                for (int d = 0; d < nDims; d++) {
                    ne[d] = i64(what + " ne[" + d + "]");
                    if (ne[d] < 0) throw error(what + " ne[" + d + "] = " + Long.toUnsignedString(ne[d]) + " is negative or absurd");
                    try {
                        elements = Math.multiplyExact(elements, ne[d]);
                    } catch (ArithmeticException e) {
                        throw error(what + " element count overflows 64 bits");
                    }
                }
                int typeId = i32(what + " type");
                GgmlType type = GgmlType.byId(typeId);
                if (type == null) throw error(what + " has unknown ggml type id " + typeId);
                if (ne[0] % type.blockSize() != 0) {
                    throw error(what + " row length ne[0] = " + ne[0] + " is not a multiple of " + type + "'s block size " + type.blockSize());
                }
                long bytes;
                try {
                    bytes = Math.multiplyExact(elements / type.blockSize(), (long) type.blockBytes());
                } catch (ArithmeticException e) {
                    throw error(what + " byte size overflows 64 bits");
                }
                long offset = i64(what + " offset");
                if (offset < 0 || offset % alignment != 0) {
                    throw error(what + " offset " + Long.toUnsignedString(offset) + " is not a multiple of the alignment " + alignment);
                }
                if (infos.putIfAbsent(name, new GgufTensorInfo(name, ne, type, offset, bytes)) != null) {
                    throw error("tensor name '" + name + "' appears twice");
                }
            }

            long dataOffset = (pos + alignment - 1) / alignment * alignment;
            long dataBytes = size - dataOffset;
            for (GgufTensorInfo t : infos.values()) {
                if (dataBytes < 0 || t.offset() > dataBytes || t.byteSize() > dataBytes - t.offset()) {
                    throw error("truncated: tensor '" + t.name() + "' (" + t.type() + ", " + t.byteSize() + " bytes at data offset "
                            + t.offset() + ") ends past the end of the file (data section has " + Math.max(0, dataBytes) + " bytes)");
                }
            }
            return new GgufFile(path, arena, file, version, metadata, types, infos, alignment, dataOffset);
        }
    }
}

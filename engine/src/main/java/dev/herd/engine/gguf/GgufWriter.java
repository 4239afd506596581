package dev.herd.engine.gguf;

import dev.herd.engine.tensor.GgmlType;
import dev.herd.engine.tensor.Tensor;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Writes GGUF version 3 files with the layout llama.cpp's gguf-py and {@code gguf.cpp} produce:
 * header, metadata in insertion order, tensor infos in insertion order, zero padding to
 * {@code general.alignment} (default 32), then each tensor's data followed by zero padding to the
 * alignment (after the last tensor too), so each tensor offset is the previous one plus its padded
 * size. A file read with {@link GgufFile} and copied with {@link #copyOf(GgufFile)} comes out
 * byte-identical.
 *
 * <p>{@link #writeSplit} writes {@code prefix-00001-of-0000N.gguf} parts the way {@code gguf-split}
 * does: the first part holds all metadata, every part ends its metadata with {@code split.no} (uint16),
 * {@code split.count} (uint16) and {@code split.tensors.count} (int32).
 *
 * <p>Everything written is validated up front against the limits {@link GgufFile} enforces and
 * llama.cpp's (tensor names under 64 bytes), so what this writes, both can read. Misuse is an
 * {@link IllegalArgumentException} naming the key or tensor.
 */
public final class GgufWriter {

    /** llama.cpp stores tensor names in a 64-byte buffer with a terminating NUL. */
    static final int MAX_WRITTEN_TENSOR_NAME_BYTES = GgufFile.MAX_TENSOR_NAME_BYTES - 1;
    private static final int VERSION = 3;
    private static final int BUFFER_BYTES = 1 << 20;
    private static final MemorySegment ZEROS = MemorySegment.ofArray(new byte[64 << 10]);

    /** Streams exactly the tensor's byte size into {@code out} (the writer checks the count). */
    @FunctionalInterface
    public interface TensorData {
        void writeTo(OutputStream out) throws IOException;
    }

    /**
     * How {@link #writeSplit} cuts the tensors into parts, as {@code gguf-split --split-max-tensors /
     * --split-max-size / --no-tensor-first-split}: a new part starts before a tensor that would
     * take the current part past {@code maxTensors} tensors or {@code maxBytes} bytes of padded
     * tensor data (a part always gets at least one tensor).
     */
    public record SplitPolicy(int maxTensors, long maxBytes, boolean metadataOnlyFirstPart) {
        public SplitPolicy {
            if (maxTensors < 1 || maxBytes < 1) throw new IllegalArgumentException("split limits must be positive: " + maxTensors + ", " + maxBytes);
        }

        public static SplitPolicy maxTensors(int n) { return new SplitPolicy(n, Long.MAX_VALUE, false); }

        public static SplitPolicy maxBytes(long n) { return new SplitPolicy(Integer.MAX_VALUE, n, false); }

        /** The first part holds only metadata, as {@code --no-tensor-first-split} (quick to download and inspect). */
        public SplitPolicy withMetadataOnlyFirstPart() { return new SplitPolicy(maxTensors, maxBytes, true); }
    }

    private sealed interface Data {
        record Segment(MemorySegment segment) implements Data {}
        record Stream(TensorData source) implements Data {}
        record Zeros() implements Data {}
    }

    private record PendingTensor(String name, GgmlType type, long[] ne, long byteSize, Data data) {}

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final Map<String, PendingTensor> tensors = new LinkedHashMap<>();
    /** Files whose mappings back tensor data here: writing over one of them would pull the data from under us. */
    private final Set<Path> sources = new LinkedHashSet<>();

    /** Everything in {@code file}: metadata (exact types, in order) and tensors, read from its mapping when written (keep it open until then). */
    public static GgufWriter copyOf(GgufFile file) {
        GgufWriter w = new GgufWriter();
        file.entries().forEach(w::put);
        for (GgufTensorInfo t : file.tensors().values()) w.addTensor(t.name(), t.type(), t.ne(), file.tensorData(t));
        w.sources.add(file.path());
        return w;
    }

    /** A split or single model merged: the first part's metadata without the split.* keys, and every tensor (keep the model open until written). */
    public static GgufWriter copyOf(GgufModel model) {
        GgufWriter w = new GgufWriter();
        model.parts().getFirst().entries().forEach(w::put);
        w.metadata.keySet().removeIf(GgufWriter::isSplitKey);
        for (Tensor t : model.tensors().values()) w.addTensor(t.name(), t.type(), t.ne(), t.data());
        model.parts().forEach(p -> w.sources.add(p.path()));
        return w;
    }

    // ---- metadata ----

    /** Sets {@code key}; a key set again keeps its original position (as gguf-py does). */
    public GgufWriter put(String key, GgufValue value) {
        Objects.requireNonNull(value, "value");
        byte[] k = utf8(key, "metadata key");
        if (k.length == 0 || k.length > GgufFile.MAX_KEY_BYTES) {
            throw new IllegalArgumentException("metadata key must be 1.." + GgufFile.MAX_KEY_BYTES + " bytes, got " + k.length);
        }
        validate(value, "metadata '" + key + "'");
        if (key.equals(GgufFile.ALIGNMENT_KEY)) checkAlignment(value);
        metadata.put(key, value);
        return this;
    }

    public GgufWriter putString(String key, String v) { return put(key, GgufValue.string(v)); }
    public GgufWriter putUint32(String key, long v) { return put(key, GgufValue.uint32(v)); }
    public GgufWriter putInt32(String key, int v) { return put(key, GgufValue.int32(v)); }
    public GgufWriter putUint64(String key, long v) { return put(key, GgufValue.uint64(v)); }
    public GgufWriter putFloat32(String key, float v) { return put(key, GgufValue.float32(v)); }
    public GgufWriter putBool(String key, boolean v) { return put(key, GgufValue.bool(v)); }
    public GgufWriter putArray(String key, GgufArray v) { return put(key, GgufValue.array(v)); }

    public GgufWriter remove(String key) {
        metadata.remove(key);
        return this;
    }

    /** Sets {@code general.alignment} (uint32, a power of two): data section and tensor offsets align to it. */
    public GgufWriter alignment(int alignment) { return put(GgufFile.ALIGNMENT_KEY, GgufValue.uint32(alignment)); }

    public int alignment() {
        GgufValue a = metadata.get(GgufFile.ALIGNMENT_KEY);
        return a == null ? GgufFile.DEFAULT_ALIGNMENT : (int) (long) (Long) a.value();
    }

    public Map<String, GgufValue> metadata() { return Collections.unmodifiableMap(metadata); }

    // ---- tensors ----

    /** A tensor whose bytes are {@code data} (heap, native or mapped; read when the file is written). */
    public GgufWriter addTensor(String name, GgmlType type, long[] ne, MemorySegment data) {
        long bytes = checkTensor(name, type, ne);
        if (data.byteSize() != bytes) {
            throw new IllegalArgumentException("tensor '" + name + "' (" + type + " " + Arrays.toString(ne) + ") needs "
                    + bytes + " bytes of data, got " + data.byteSize());
        }
        return add(new PendingTensor(name, type, ne.clone(), bytes, new Data.Segment(data)));
    }

    public GgufWriter addTensor(String name, GgmlType type, long[] ne, byte[] data) {
        return addTensor(name, type, ne, MemorySegment.ofArray(data));
    }

    /** A tensor whose bytes {@code data} streams when the file is written; it must write exactly the tensor's size. */
    public GgufWriter addTensor(String name, GgmlType type, long[] ne, TensorData data) {
        long bytes = checkTensor(name, type, ne);
        return add(new PendingTensor(name, type, ne.clone(), bytes, new Data.Stream(Objects.requireNonNull(data))));
    }

    /** An all-zero tensor, written as a hole (no disk space) on filesystems with sparse files. */
    public GgufWriter addZeroTensor(String name, GgmlType type, long[] ne) {
        long bytes = checkTensor(name, type, ne);
        return add(new PendingTensor(name, type, ne.clone(), bytes, new Data.Zeros()));
    }

    public int tensorCount() { return tensors.size(); }

    private GgufWriter add(PendingTensor t) {
        if (tensors.putIfAbsent(t.name(), t) != null) throw new IllegalArgumentException("tensor '" + t.name() + "' is already added");
        return this;
    }

    private static long checkTensor(String name, GgmlType type, long[] ne) {
        Objects.requireNonNull(type, "type");
        byte[] n = utf8(name, "tensor name");
        if (n.length == 0 || n.length > MAX_WRITTEN_TENSOR_NAME_BYTES) {
            throw new IllegalArgumentException("tensor name '" + name + "' must be 1.." + MAX_WRITTEN_TENSOR_NAME_BYTES + " bytes (llama.cpp's limit), got " + n.length);
        }
        if (ne.length < 1 || ne.length > GgufFile.MAX_DIMS) {
            throw new IllegalArgumentException("tensor '" + name + "' must have 1.." + GgufFile.MAX_DIMS + " dimensions, got " + ne.length);
        }
        long elements = 1;
        for (long d : ne) {
            if (d < 0) throw new IllegalArgumentException("tensor '" + name + "' has a negative dimension: " + Arrays.toString(ne));
            elements = Math.multiplyExact(elements, d);
        }
        if (ne[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "' row length " + ne[0] + " is not a multiple of " + type + "'s block size " + type.blockSize());
        }
        return Math.multiplyExact(elements / type.blockSize(), (long) type.blockBytes());
    }

    // ---- writing ----

    /** Writes one file (replacing {@code path}); a failed write deletes the partial file. */
    public void write(Path path) throws IOException {
        writeParts(List.of(path), List.of(List.copyOf(tensors.values())), List.of(metadata));
    }

    /**
     * Writes {@code prefix-00001-of-0000N.gguf} ... next to {@code prefix} (e.g. prefix {@code
     * out/model} gives {@code out/model-00001-of-00003.gguf}) and returns the parts in order. Any
     * split.* keys in the metadata are replaced by the new ones.
     */
    public List<Path> writeSplit(Path prefix, SplitPolicy policy) throws IOException {
        List<List<PendingTensor>> groups = new ArrayList<>();
        if (policy.metadataOnlyFirstPart()) groups.add(new ArrayList<>());
        List<PendingTensor> current = null;
        long currentBytes = 0;
        int align = alignment();
        for (PendingTensor t : tensors.values()) {
            long padded = pad(t.byteSize(), align);
            if (current == null || (!current.isEmpty()
                    && (current.size() >= policy.maxTensors() || padded > policy.maxBytes() - currentBytes))) {
                current = new ArrayList<>();
                groups.add(current);
                currentBytes = 0;
            }
            current.add(t);
            currentBytes += padded;
        }
        if (groups.isEmpty()) groups.add(new ArrayList<>());
        int count = groups.size();
        if (count > 0xffff) throw new IllegalArgumentException("the split policy gives " + count + " parts; split.count is a uint16");

        List<Path> paths = new ArrayList<>();
        List<Map<String, GgufValue>> partMetadata = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            paths.add(GgufModel.splitPath(prefix, i, count));
            Map<String, GgufValue> md = new LinkedHashMap<>();
            if (i == 0) {
                md.putAll(metadata);
                md.keySet().removeIf(GgufWriter::isSplitKey);
            } else if (align != GgufFile.DEFAULT_ALIGNMENT) {
                // gguf-split leaves this out and so mis-pads such parts; each part is parsed on its own, so it needs it.
                md.put(GgufFile.ALIGNMENT_KEY, metadata.get(GgufFile.ALIGNMENT_KEY));
            }
            md.put(GgufModel.SPLIT_NO, GgufValue.uint16(i));
            md.put(GgufModel.SPLIT_COUNT, GgufValue.uint16(count));
            md.put(GgufModel.SPLIT_TENSORS_COUNT, GgufValue.int32(tensors.size()));
            partMetadata.add(md);
        }
        writeParts(paths, groups, partMetadata);
        return paths;
    }

    private static boolean isSplitKey(String key) {
        return key.equals(GgufModel.SPLIT_NO) || key.equals(GgufModel.SPLIT_COUNT) || key.equals(GgufModel.SPLIT_TENSORS_COUNT);
    }

    private void writeParts(List<Path> paths, List<List<PendingTensor>> groups, List<Map<String, GgufValue>> partMetadata) throws IOException {
        for (Path p : paths) {
            for (Path source : sources) {
                if (Files.exists(p) && Files.isSameFile(p, source)) {
                    throw new IllegalArgumentException(p + " is a source of this writer's tensor data (mapped); write to another path");
                }
            }
        }
        int align = alignment();
        boolean done = false;
        List<Path> started = new ArrayList<>();
        try {
            for (int i = 0; i < paths.size(); i++) {
                started.add(paths.get(i));
                try (Sink out = new Sink(FileChannel.open(paths.get(i), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING))) {
                    writeFile(out, partMetadata.get(i), groups.get(i), align);
                }
            }
            done = true;
        } finally {
            // No half-written model left behind: a reader would take a truncated part for corruption.
            if (!done) for (Path p : started) Files.deleteIfExists(p);
        }
    }

    private static void writeFile(Sink out, Map<String, GgufValue> md, List<PendingTensor> group, int align) throws IOException {
        out.u32(GgufFile.MAGIC);
        out.u32(VERSION);
        out.u64(group.size());
        out.u64(md.size());
        for (Map.Entry<String, GgufValue> e : md.entrySet()) {
            out.string(e.getKey());
            out.u32(e.getValue().type().id());
            writeValue(out, e.getValue().type(), e.getValue().value());
        }
        long offset = 0;
        for (PendingTensor t : group) {
            out.string(t.name());
            out.u32(t.ne().length);
            for (long d : t.ne()) out.u64(d);
            out.u32(t.type().id());
            out.u64(offset);
            offset += pad(t.byteSize(), align);
        }
        out.zeros(pad(out.position(), align) - out.position());
        for (PendingTensor t : group) {
            switch (t.data()) {
                case Data.Segment s -> out.segment(s.segment());
                case Data.Zeros z -> out.hole(t.byteSize());
                case Data.Stream s -> {
                    long before = out.position();
                    s.source().writeTo(out.stream());
                    long wrote = out.position() - before;
                    if (wrote != t.byteSize()) {
                        throw new IllegalStateException("tensor '" + t.name() + "' data source wrote " + wrote + " bytes, expected " + t.byteSize());
                    }
                }
            }
            out.zeros(pad(t.byteSize(), align) - t.byteSize());
        }
    }

    private static void writeValue(Sink out, GgufValueType type, Object v) throws IOException {
        switch (type) {
            case UINT8, INT8 -> out.u8((int) (long) (Long) v);
            case UINT16, INT16 -> out.u16((int) (long) (Long) v);
            case UINT32, INT32 -> out.u32((int) (long) (Long) v);
            case UINT64, INT64 -> out.u64((Long) v);
            case FLOAT32 -> out.u32(Float.floatToRawIntBits((Float) v));
            case FLOAT64 -> out.u64(Double.doubleToRawLongBits((Double) v));
            case BOOL -> out.u8((Boolean) v ? 1 : 0);
            case STRING -> out.string((String) v);
            case ARRAY -> writeArray(out, (GgufArray) v);
        }
    }

    private static void writeArray(Sink out, GgufArray a) throws IOException {
        out.u32(a.elementType().id());
        out.u64(a.length());
        switch (a.elements()) {
            case long[] l -> { for (long x : l) writeValue(out, a.elementType(), x); }
            case float[] f -> { for (float x : f) out.u32(Float.floatToRawIntBits(x)); }
            case double[] d -> { for (double x : d) out.u64(Double.doubleToRawLongBits(x)); }
            case boolean[] b -> { for (boolean x : b) out.u8(x ? 1 : 0); }
            case String[] s -> { for (String x : s) out.string(x); }
            case GgufArray[] nested -> { for (GgufArray x : nested) writeArray(out, x); }
            default -> throw new IllegalStateException("unreachable: GgufArray validated its elements");
        }
    }

    /** Checks what the reader would refuse: strings that are not UTF-8 or too long, arrays nested too deep. */
    private static void validate(GgufValue value, String what) {
        switch (value.value()) {
            case String s -> checkString(s, what);
            case GgufArray a -> checkArray(a, what, 1);
            default -> { }
        }
    }

    private static void checkArray(GgufArray a, String what, int depth) {
        if (depth > GgufFile.MAX_ARRAY_NESTING) {
            throw new IllegalArgumentException(what + " nests arrays deeper than " + GgufFile.MAX_ARRAY_NESTING + " levels");
        }
        if (a.elements() instanceof String[] strings) for (String s : strings) checkString(s, what);
        if (a.elements() instanceof GgufArray[] nested) for (GgufArray n : nested) checkArray(n, what, depth + 1);
    }

    private static void checkString(String s, String what) {
        if (utf8(s, what).length > GgufFile.MAX_STRING_BYTES) {
            throw new IllegalArgumentException(what + " holds a string over " + GgufFile.MAX_STRING_BYTES + " bytes");
        }
    }

    private static void checkAlignment(GgufValue value) {
        long a = value.type() == GgufValueType.UINT32 ? (Long) value.value() : -1;
        if (a <= 0 || a > GgufFile.MAX_ALIGNMENT || Long.bitCount(a) != 1) {
            throw new IllegalArgumentException(GgufFile.ALIGNMENT_KEY + " must be a uint32 power of two up to 2^30, got "
                    + value.type().displayName() + " " + value);
        }
    }

    static byte[] utf8(String s, String what) {
        Objects.requireNonNull(s, what);
        try {
            ByteBuffer b = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(s));
            byte[] out = new byte[b.remaining()];
            b.get(out);
            return out;
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(what + " " + GgufFile.quote(s) + " cannot be encoded as UTF-8 (unpaired surrogate)");
        }
    }

    static long pad(long n, long align) {
        return (n + align - 1) / align * align;
    }

    /** Buffered little-endian output to a file channel; long zero runs become holes. */
    private static final class Sink implements AutoCloseable {
        private final FileChannel channel;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        private final MemorySegment bufSegment = MemorySegment.ofBuffer(buf);
        /** Bytes written (including pending holes). */
        private long position;
        private long pendingHole;

        Sink(FileChannel channel) { this.channel = channel; }

        long position() { return position; }

        private void room(int n) throws IOException {
            if (pendingHole > 0) {
                flush();
                channel.position(channel.position() + pendingHole);
                pendingHole = 0;
            }
            if (buf.remaining() < n) flush();
        }

        void u8(int v) throws IOException { room(1); buf.put((byte) v); position += 1; }
        void u16(int v) throws IOException { room(2); buf.putShort((short) v); position += 2; }
        void u32(int v) throws IOException { room(4); buf.putInt(v); position += 4; }
        void u64(long v) throws IOException { room(8); buf.putLong(v); position += 8; }

        void string(String s) throws IOException {
            byte[] b = utf8(s, "string");
            u64(b.length);
            bytes(MemorySegment.ofArray(b));
        }

        void segment(MemorySegment src) throws IOException { bytes(src); }

        private void bytes(MemorySegment src) throws IOException {
            long off = 0;
            long n = src.byteSize();
            while (off < n) {
                room(1);
                int chunk = (int) Math.min(buf.remaining(), n - off);
                MemorySegment.copy(src, off, bufSegment, buf.position(), chunk);
                buf.position(buf.position() + chunk);
                off += chunk;
                position += chunk;
            }
        }

        void zeros(long n) throws IOException {
            while (n > 0) {
                int chunk = (int) Math.min(n, ZEROS.byteSize());
                bytes(ZEROS.asSlice(0, chunk));
                n -= chunk;
            }
        }

        void hole(long n) throws IOException {
            flush();
            pendingHole += n;
            position += n;
        }

        OutputStream stream() {
            return new OutputStream() {
                @Override
                public void write(int b) throws IOException { u8(b); }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    Objects.checkFromIndexSize(off, len, b.length);
                    bytes(MemorySegment.ofArray(b).asSlice(off, len));
                }
            };
        }

        private void flush() throws IOException {
            buf.flip();
            while (buf.hasRemaining()) channel.write(buf);
            buf.clear();
        }

        @Override
        public void close() throws IOException {
            try {
                flush();
                if (pendingHole > 0) {
                    // A hole at the very end: writing its last byte gives the file its full length.
                    channel.position(channel.position() + pendingHole - 1);
                    channel.write(ByteBuffer.wrap(new byte[1]));
                }
            } finally {
                channel.close();
            }
        }
    }
}

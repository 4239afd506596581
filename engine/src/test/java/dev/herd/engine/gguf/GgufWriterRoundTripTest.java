package dev.herd.engine.gguf;

import dev.herd.engine.tensor.GgmlType;
import dev.herd.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Write with {@link GgufWriter}, read with {@link GgufFile}/{@link GgufModel}: every value and byte must come back. */
class GgufWriterRoundTripTest {

    @TempDir
    Path dir;

    static Map<String, GgufValue> everyKindOfValue() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("u8.max", GgufValue.uint8(255));
        m.put("u8.min", GgufValue.uint8(0));
        m.put("i8.min", GgufValue.int8(-128));
        m.put("i8.max", GgufValue.int8(127));
        m.put("u16.max", GgufValue.uint16(65535));
        m.put("i16.min", GgufValue.int16(-32768));
        m.put("u32.max", GgufValue.uint32(4294967295L));
        m.put("i32.min", GgufValue.int32(Integer.MIN_VALUE));
        m.put("u64.max", GgufValue.uint64(-1));
        m.put("i64.min", GgufValue.int64(Long.MIN_VALUE));
        m.put("f32.nan", GgufValue.float32(Float.intBitsToFloat(0x7fc00001)));
        m.put("f32.neg0", GgufValue.float32(-0f));
        m.put("f32.inf", GgufValue.float32(Float.NEGATIVE_INFINITY));
        m.put("f32.tiny", GgufValue.float32(Float.MIN_VALUE));
        m.put("f64.pi", GgufValue.float64(Math.PI));
        m.put("f64.nan", GgufValue.float64(Double.NaN));
        m.put("bool.t", GgufValue.bool(true));
        m.put("bool.f", GgufValue.bool(false));
        m.put("str.empty", GgufValue.string(""));
        m.put("str.unicode", GgufValue.string("h\u00e9llo \u2713 \ud83e\udd99 \u0000 nul"));
        m.put("str.long", GgufValue.string("x".repeat(100_000)));
        for (GgufValueType t : GgufValueType.values()) {
            if (t.isInteger()) {
                m.put("arr." + t.displayName(), GgufValue.array(GgufArray.ofIntegers(t, 0, 1, t == GgufValueType.UINT8 ? 255 : 100)));
                m.put("arr.empty." + t.displayName(), GgufValue.array(GgufArray.ofIntegers(t)));
            }
        }
        m.put("arr.i64.extremes", GgufValue.array(GgufArray.ofIntegers(GgufValueType.INT64, Long.MIN_VALUE, Long.MAX_VALUE)));
        m.put("arr.u64.extremes", GgufValue.array(GgufArray.ofIntegers(GgufValueType.UINT64, -1, 0)));
        m.put("arr.f32", GgufValue.array(GgufArray.ofFloat32(1.5f, Float.NaN, -0f)));
        m.put("arr.f64", GgufValue.array(new GgufArray(GgufValueType.FLOAT64, new double[]{1e300, -1e-300})));
        m.put("arr.bool", GgufValue.array(GgufArray.ofBool(true, false, true)));
        m.put("arr.str", GgufValue.array(GgufArray.ofStrings("a", "", "\u00fc", "\n\t")));
        m.put("arr.empty.str", GgufValue.array(GgufArray.ofStrings()));
        m.put("arr.empty.f32", GgufValue.array(GgufArray.ofFloat32()));
        m.put("arr.empty.bool", GgufValue.array(GgufArray.ofBool()));
        m.put("arr.empty.arrays", GgufValue.array(GgufArray.ofArrays()));
        m.put("arr.nested", GgufValue.array(GgufArray.ofArrays(
                GgufArray.ofInt32(1, 2, 3),
                GgufArray.ofStrings("x", "y"),
                GgufArray.ofArrays(GgufArray.ofFloat32(0.5f), GgufArray.ofBool()),
                GgufArray.ofUint32())));
        GgufArray deep = GgufArray.ofInt32(42);
        for (int i = 1; i < GgufFile.MAX_ARRAY_NESTING; i++) deep = GgufArray.ofArrays(deep);
        m.put("arr.nested.max_depth", GgufValue.array(deep));
        return m;
    }

    @Test
    void everyValueTypeComesBackWithItsExactType() throws IOException {
        Map<String, GgufValue> values = everyKindOfValue();
        GgufWriter w = new GgufWriter();
        values.forEach(w::put);
        Path p = dir.resolve("values.gguf");
        w.write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(3, f.version());
            assertEquals(List.copyOf(values.keySet()), List.copyOf(f.entries().keySet()), "keys in insertion order");
            values.forEach((k, v) -> assertEquals(v, f.entries().get(k), k));
            // The plain view the model code uses.
            assertEquals(-1L, f.metadata().get("u64.max"));
            assertEquals(GgufValueType.UINT64, f.metadataTypes().get("u64.max"));
            assertEquals(0x7fc00001, Float.floatToRawIntBits((Float) f.metadata().get("f32.nan")), "NaN payload kept");
            assertArrayEquals(new long[]{0, 1, 255}, (long[]) f.metadata().get("arr.uint8"));
            assertArrayEquals(new String[]{"a", "", "\u00fc", "\n\t"}, (String[]) f.metadata().get("arr.str"));
            Object[] nested = (Object[]) f.metadata().get("arr.nested");
            assertArrayEquals(new long[]{1, 2, 3}, (long[]) nested[0]);
            assertArrayEquals(new String[]{"x", "y"}, (String[]) nested[1]);
            assertArrayEquals(new float[]{0.5f}, (float[]) ((Object[]) nested[2])[0]);
            assertEquals(0, ((long[]) nested[3]).length);
            assertEquals(0, f.tensors().size());
            assertEquals(0, f.dataOffset() % 32);
            assertEquals(f.dataOffset(), f.fileSize(), "header padded to the alignment even without tensors (as gguf-py)");
        }
        // Metadata accessors on the model view.
        try (GgufModel m = GgufModel.open(p)) {
            assertEquals(4294967295L, m.metadata().integer("u32.max"));
            assertThrows(GgufFormatException.class, () -> m.metadata().int32("u32.max"));
            assertArrayEquals(new int[]{0, 1, 100}, m.metadata().intArray("arr.int32"));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 8, 32, 64, 4096})
    void tensorsOfSeveralTypesAtEveryAlignment(int alignment) throws IOException {
        GgufWriter w = GgufSamples.sampleModel(alignment);
        if (alignment != 32) w.alignment(alignment);
        Path p = dir.resolve("a" + alignment + ".gguf");
        w.write(p);
        Random r = new Random(alignment);
        try (GgufModel m = GgufModel.open(p)) {
            GgufFile f = m.parts().getFirst();
            assertEquals(alignment, f.alignment());
            assertEquals(0, f.dataOffset() % alignment);
            long expectedOffset = 0;
            for (Object[] spec : GgufSamples.TENSORS) {
                String name = (String) spec[0];
                GgmlType type = (GgmlType) spec[1];
                long[] ne = (long[]) spec[2];
                byte[] expected = GgufSamples.randomBytes(r, GgufSamples.bytes(type, ne));
                GgufTensorInfo info = f.tensors().get(name);
                assertEquals(type, info.type(), name);
                assertArrayEquals(ne, info.ne(), name);
                assertEquals(expectedOffset, info.offset(), name + " packed after the previous tensor");
                assertEquals(0, info.offset() % alignment, name);
                expectedOffset += GgufWriter.pad(expected.length, alignment);
                Tensor t = m.tensor(name);
                assertArrayEquals(expected, t.data().toArray(ValueLayout.JAVA_BYTE), name);
            }
            assertEquals(f.dataOffset() + expectedOffset, f.fileSize(), "the last tensor is padded too");
            assertArrayEquals(new String[]{"<s>", "</s>", "a", "b", "\u00e9", ""}, m.metadata().stringArray("tokenizer.ggml.tokens"));
        }
    }

    @Test
    void streamedAndZeroTensorsAndRewrittenFilesAreIdentical() throws IOException {
        float[] values = {1f, -2f, 3.5f};
        GgufWriter w = new GgufWriter()
                .addTensor("streamed", GgmlType.F32, new long[]{3}, out -> {
                    for (float v : values) {
                        int bits = Float.floatToRawIntBits(v);
                        out.write(new byte[]{(byte) bits, (byte) (bits >> 8), (byte) (bits >> 16), (byte) (bits >> 24)});
                    }
                })
                .addZeroTensor("zeros", GgmlType.F16, new long[]{4, 4});
        Path p = dir.resolve("s.gguf");
        w.write(p);
        try (GgufModel m = GgufModel.open(p)) {
            assertArrayEquals(values, m.tensor("streamed").data().toArray(ValueLayout.JAVA_FLOAT));
            assertArrayEquals(new byte[32], m.tensor("zeros").data().toArray(ValueLayout.JAVA_BYTE));
            Path copy = dir.resolve("copy.gguf");
            GgufWriter.copyOf(m.parts().getFirst()).write(copy);
            assertEquals(-1, Files.mismatch(p, copy));
            // Writing over a file whose mapping backs the data would pull it from under the writer.
            assertThrows(IllegalArgumentException.class, () -> GgufWriter.copyOf(m.parts().getFirst()).write(p));
        }
    }

    @Test
    void aStreamOfTheWrongLengthFailsAndLeavesNoFile() {
        Path p = dir.resolve("bad.gguf");
        GgufWriter w = new GgufWriter().addTensor("t", GgmlType.F32, new long[]{4}, out -> out.write(new byte[15]));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> w.write(p));
        assertTrue(e.getMessage().contains("'t'") && e.getMessage().contains("15"), e.getMessage());
        assertFalse(Files.exists(p));
    }

    @Test
    void writerRejectsWhatReadersWouldRefuse() {
        GgufWriter w = new GgufWriter();
        assertThrows(IllegalArgumentException.class, () -> w.alignment(48));
        assertThrows(IllegalArgumentException.class, () -> w.alignment(0));
        assertThrows(IllegalArgumentException.class, () -> w.put("general.alignment", GgufValue.uint64(64)));
        assertThrows(IllegalArgumentException.class, () -> w.putString("", "empty key"));
        assertThrows(IllegalArgumentException.class, () -> w.putString("k", "lone \ud800 surrogate"));
        assertThrows(IllegalArgumentException.class, () -> w.putString("k".repeat(65_536), "key too long"));
        GgufArray tooDeep = GgufArray.ofInt32(1);
        for (int i = 0; i < GgufFile.MAX_ARRAY_NESTING; i++) tooDeep = GgufArray.ofArrays(tooDeep);
        GgufArray finalTooDeep = tooDeep;
        assertThrows(IllegalArgumentException.class, () -> w.putArray("deep", finalTooDeep));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("n".repeat(64), GgmlType.F32, new long[]{1}, new byte[4]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.F32, new long[]{2}, new byte[4]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.Q8_0, new long[]{16}, new byte[17]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.F32, new long[]{1, 1, 1, 1, 1}, new byte[4]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.F32, new long[]{-1}, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.F32, new long[]{}, new byte[0]));
        w.addTensor("t", GgmlType.F32, new long[]{1}, new byte[4]);
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.F32, new long[]{1}, new byte[4]));
        // Values must fit their declared types.
        assertThrows(IllegalArgumentException.class, () -> GgufValue.uint8(256));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.uint32(-1));
        assertThrows(IllegalArgumentException.class, () -> new GgufValue(GgufValueType.INT32, 1.0f));
        assertThrows(IllegalArgumentException.class, () -> GgufArray.ofIntegers(GgufValueType.INT8, 128));
        assertThrows(IllegalArgumentException.class, () -> GgufArray.ofStrings("a", null));
    }

    @Test
    void largeSegmentsAreCopiedInChunks() throws IOException {
        // Bigger than the writer's 1 MiB buffer, from native memory.
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment big = arena.allocate(3 << 20);
            for (long i = 0; i < big.byteSize(); i += 4) big.set(ValueLayout.JAVA_INT_UNALIGNED, i, (int) (i * 2654435761L));
            Path p = dir.resolve("big.gguf");
            new GgufWriter().addTensor("big", GgmlType.I32, new long[]{big.byteSize() / 4}, big).write(p);
            try (GgufModel m = GgufModel.open(p)) {
                assertEquals(-1, m.tensor("big").data().mismatch(big));
            }
        }
    }
}

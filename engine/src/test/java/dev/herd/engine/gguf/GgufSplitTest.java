package dev.herd.engine.gguf;

import dev.herd.engine.tensor.GgmlType;
import dev.herd.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Split models as gguf-split writes them: written in parts, opened through the first, and every way the set can be broken. */
class GgufSplitTest {

    @TempDir
    Path dir;

    private List<Path> writeThreeParts(long seed) throws IOException {
        // 9 tensors, at most 4 per part: parts of 4, 4 and 1.
        return GgufSamples.sampleModel(seed).writeSplit(dir.resolve("model"), GgufWriter.SplitPolicy.maxTensors(4));
    }

    @Test
    void threePartsOpenThroughTheFirstWithEveryTensor() throws IOException {
        List<Path> parts = writeThreeParts(7);
        assertEquals(List.of(dir.resolve("model-00001-of-00003.gguf"), dir.resolve("model-00002-of-00003.gguf"),
                dir.resolve("model-00003-of-00003.gguf")), parts);
        try (GgufModel m = GgufModel.open(parts.getFirst())) {
            assertEquals(3, m.parts().size());
            assertEquals(List.of(4, 4, 1), m.parts().stream().map(p -> p.tensors().size()).toList());
            Random r = new Random(7);
            for (Object[] spec : GgufSamples.TENSORS) {
                byte[] expected = GgufSamples.randomBytes(r, GgufSamples.bytes((GgmlType) spec[1], (long[]) spec[2]));
                Tensor t = m.tensor((String) spec[0]);
                assertEquals(spec[1], t.type());
                assertArrayEquals((long[]) spec[2], t.ne());
                assertArrayEquals(expected, t.data().toArray(ValueLayout.JAVA_BYTE), t.name());
            }
            // The first part holds all metadata; the split keys end every part's metadata, as gguf-split writes them.
            assertEquals("llama4", m.metadata().string("general.architecture"));
            assertEquals(6, m.metadata().stringArray("tokenizer.ggml.tokens").length);
            for (int i = 0; i < 3; i++) {
                Map<String, GgufValue> e = m.parts().get(i).entries();
                List<String> keys = List.copyOf(e.keySet());
                assertEquals(List.of("split.no", "split.count", "split.tensors.count"), keys.subList(keys.size() - 3, keys.size()));
                assertEquals(GgufValue.uint16(i), e.get("split.no"));
                assertEquals(GgufValue.uint16(3), e.get("split.count"));
                assertEquals(GgufValue.int32(9), e.get("split.tensors.count"));
                if (i > 0) assertEquals(3, e.size(), "later parts carry only the split keys");
            }
        }
    }

    @Test
    void mergingTheSplitGivesTheSingleFile() throws IOException {
        List<Path> parts = writeThreeParts(11);
        Path single = dir.resolve("single.gguf");
        GgufSamples.sampleModel(11).write(single);
        Path merged = dir.resolve("merged.gguf");
        try (GgufModel m = GgufModel.open(parts.getFirst())) {
            GgufWriter.copyOf(m).write(merged);
        }
        assertEquals(-1, Files.mismatch(single, merged));
    }

    @Test
    void splitBySizeWithAMetadataOnlyFirstPartAndCustomAlignment() throws IOException {
        GgufWriter w = GgufSamples.sampleModel(3).alignment(256);
        List<Path> parts = w.writeSplit(dir.resolve("sized"), GgufWriter.SplitPolicy.maxBytes(600).withMetadataOnlyFirstPart());
        try (GgufModel m = GgufModel.open(parts.getFirst())) {
            assertEquals(0, m.parts().getFirst().tensors().size());
            assertEquals(GgufSamples.TENSORS.length, m.tensors().size());
            for (GgufFile p : m.parts()) {
                assertEquals(256, p.alignment(), p.path() + " declares the alignment its padding uses");
                long padded = p.tensors().values().stream().mapToLong(t -> GgufWriter.pad(t.byteSize(), 256)).sum();
                assertTrue(p.tensors().size() == 1 || padded <= 600, p.path() + " holds " + padded + " bytes");
            }
        }
    }

    @Test
    void aMissingPartIsNamed() throws IOException {
        List<Path> parts = writeThreeParts(1);
        Files.delete(parts.get(1));
        FileNotFoundException e = assertThrows(FileNotFoundException.class, () -> GgufModel.open(parts.getFirst()));
        assertTrue(e.getMessage().contains("part 2 of 3 is missing") && e.getMessage().contains("model-00002-of-00003.gguf"), e.getMessage());
    }

    @Test
    void aLaterPartGivenInsteadOfTheFirst() throws IOException {
        List<Path> parts = writeThreeParts(1);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufModel.open(parts.get(1)));
        assertTrue(e.getMessage().contains("is part 2 of a split model") && e.getMessage().contains("model-00001-of-00003.gguf"), e.getMessage());
    }

    @Test
    void mismatchedSplitCount() throws IOException {
        List<Path> parts = writeThreeParts(1);
        // Part 3 replaced by one that believes the model has 4 parts.
        new GgufWriter()
                .put("split.no", GgufValue.uint16(2)).put("split.count", GgufValue.uint16(4)).put("split.tensors.count", GgufValue.int32(9))
                .addTensor("positions", GgmlType.I32, new long[]{5, 1, 1, 2}, new byte[40])
                .write(parts.get(2));
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufModel.open(parts.getFirst()));
        assertTrue(e.getMessage().contains("model-00003-of-00003.gguf") && e.getMessage().contains("split.count = 4"), e.getMessage());
    }

    @Test
    void aPartInTheWrongPlace() throws IOException {
        List<Path> parts = writeThreeParts(1);
        Path tmp = dir.resolve("tmp");
        Files.move(parts.get(1), tmp);
        Files.move(parts.get(2), parts.get(1));
        Files.move(tmp, parts.get(2));
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufModel.open(parts.getFirst()));
        assertTrue(e.getMessage().contains("should be part 2 of 3") && e.getMessage().contains("split.no = 2"), e.getMessage());
    }

    @Test
    void aFirstPartNotNamedLikeOne() throws IOException {
        List<Path> parts = writeThreeParts(1);
        Path renamed = dir.resolve("renamed.gguf");
        Files.move(parts.getFirst(), renamed);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufModel.open(renamed));
        assertTrue(e.getMessage().contains("split.count = 3") && e.getMessage().contains("-00001-of-00003.gguf"), e.getMessage());
    }

    @Test
    void duplicateTensorsAcrossParts() throws IOException {
        // Two parts that both hold a tensor named "dup".
        GgufWriter a = new GgufWriter()
                .addTensor("dup", GgmlType.F32, new long[]{1}, new byte[4])
                .addTensor("other", GgmlType.F32, new long[]{1}, new byte[4]);
        List<Path> parts = a.writeSplit(dir.resolve("d"), GgufWriter.SplitPolicy.maxTensors(1));
        new GgufWriter()
                .put("split.no", GgufValue.uint16(1)).put("split.count", GgufValue.uint16(2)).put("split.tensors.count", GgufValue.int32(2))
                .addTensor("dup", GgmlType.F32, new long[]{1}, new byte[4])
                .write(parts.get(1));
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufModel.open(parts.getFirst()));
        assertTrue(e.getMessage().contains("'dup'") && e.getMessage().contains("d-00001-of-00002.gguf")
                && e.getMessage().contains("d-00002-of-00002.gguf"), e.getMessage());
    }

    @Test
    void splitTensorCountMustMatch() throws IOException {
        List<Path> parts = new GgufWriter()
                .addTensor("a", GgmlType.F32, new long[]{1}, new byte[4])
                .addTensor("b", GgmlType.F32, new long[]{1}, new byte[4])
                .writeSplit(dir.resolve("c"), GgufWriter.SplitPolicy.maxTensors(1));
        new GgufWriter()
                .put("split.no", GgufValue.uint16(1)).put("split.count", GgufValue.uint16(2)).put("split.tensors.count", GgufValue.int32(2))
                .write(parts.get(1)); // part 2 lost its tensor
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufModel.open(parts.getFirst()));
        assertTrue(e.getMessage().contains("split.tensors.count = 2") && e.getMessage().contains("hold 1 tensors"), e.getMessage());
    }
}

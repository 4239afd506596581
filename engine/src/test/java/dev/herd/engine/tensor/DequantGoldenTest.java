package dev.herd.engine.tensor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.herd.engine.testing.Fixtures;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every kernel's {@code dequantize} against llama.cpp's own dequantisation of real rows written by
 * llama-quantize ({@code text/small/goldens/<variant>/dequant/}), bit for bit, all listed rows.
 */
class DequantGoldenTest {

    @TestFactory
    List<DynamicTest> dequantisationMatchesGgmlBitForBit() throws IOException {
        JsonNode variants = new ObjectMapper().readTree(Fixtures.path("manifest.json").toFile())
                .path("text_models").path("small").path("variants");
        assertFalse(variants.isMissingNode(), "manifest lists the small model's variants");
        List<DynamicTest> tests = new ArrayList<>();
        Set<GgmlType> covered = EnumSet.noneOf(GgmlType.class);
        for (var it = variants.properties().iterator(); it.hasNext(); ) {
            var variant = it.next();
            JsonNode goldens = variant.getValue().path("dequant_goldens");
            if (goldens.isMissingNode()) continue;
            String dir = goldens.path("dir").asText();
            for (JsonNode entry : goldens.path("entries")) {
                GgmlType type = GgmlType.valueOf(entry.path("type").asText().toUpperCase(Locale.ROOT));
                covered.add(type);
                String name = variant.getKey() + ": " + entry.path("tensor").asText() + " (" + type + ")";
                tests.add(DynamicTest.dynamicTest(name, () -> checkEntry(dir, entry, type)));
            }
        }
        tests.add(DynamicTest.dynamicTest("goldens cover every quantised type herd supports", () -> assertEquals(
                EnumSet.of(GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0,
                        GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K), covered)));
        return tests;
    }

    private static void checkEntry(String dir, JsonNode entry, GgmlType type) throws IOException {
        int ne0 = entry.path("ne").get(0).asInt();
        int rowBytes = entry.path("row_bytes").asInt();
        int rows = entry.path("rows").size();
        assertEquals(type.rowBytes(ne0), rowBytes, "row size of " + type);
        byte[] raw = Files.readAllBytes(Fixtures.path(dir + entry.path("raw_file").asText()));
        assertEquals((long) rows * rowBytes, raw.length, "raw golden size");
        float[] expected = readFloats(Fixtures.path(dir + entry.path("dequant_file").asText()));
        assertEquals(rows * ne0, expected.length, "dequant golden size");

        WeightKernel kernel = Kernels.forType(type);
        MemorySegment segment = MemorySegment.ofArray(raw);
        float[] actual = new float[rows * ne0];
        for (int r = 0; r < rows; r++) kernel.dequantize(segment, (long) r * rowBytes, actual, r * ne0, ne0);
        for (int i = 0; i < actual.length; i++) {
            int e = Float.floatToRawIntBits(expected[i]), a = Float.floatToRawIntBits(actual[i]);
            if (e != a) {
                fail(type + " row #" + entry.path("rows").get(i / ne0).asInt() + " value " + (i % ne0) + ": expected "
                        + expected[i] + " (0x" + Integer.toHexString(e) + "), got " + actual[i] + " (0x" + Integer.toHexString(a) + ")");
            }
        }
    }

    private static float[] readFloats(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[b.remaining() / 4];
        b.asFloatBuffer().get(f);
        return f;
    }
}

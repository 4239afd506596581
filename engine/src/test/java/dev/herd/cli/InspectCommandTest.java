package dev.herd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.herd.engine.gguf.GgufArray;
import dev.herd.engine.gguf.GgufModel;
import dev.herd.engine.gguf.GgufValue;
import dev.herd.engine.gguf.GgufWriter;
import dev.herd.engine.tensor.GgmlType;
import dev.herd.engine.tensor.Tensor;
import dev.herd.engine.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code herd inspect}, run in-process. */
class InspectCommandTest {

    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {}

    private static Run herd(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = HerdCli.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(exit, out.toString(), err.toString());
    }

    private static long parameters(Path p) throws IOException {
        try (GgufModel m = GgufModel.open(p)) {
            return m.tensors().values().stream().mapToLong(Tensor::elementCount).sum();
        }
    }

    @Test
    void textShowsHeaderMetadataTensorsAndTotals() throws IOException {
        Path tiny = Fixtures.path("text/tiny/tiny-f32.gguf");
        Run r = herd("inspect", tiny.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals("", r.err());
        String out = r.out();
        assertTrue(out.startsWith(tiny + ": GGUF v3, 1.77 MiB, alignment 32"), out.lines().findFirst().orElse(""));
        assertTrue(out.contains("metadata (34 keys):"));
        assertTrue(out.matches("(?s).*llama4\\.embedding_length\\s+uint32\\s+64\n.*"), "scalar line");
        assertTrue(out.matches("(?s).*tokenizer\\.ggml\\.tokens\\s+string\\[1771]\\s+\\[\"!\", \"\\\\\"\", .*\\.\\.\\. 1763 more]\n.*"), "array summary");
        assertTrue(out.contains("(1130 chars; --full shows all)"), "chat template cut");
        assertTrue(out.matches("(?s).*\\s0\\s+token_embd\\.weight\\s+F32\\s+\\[64, 1771]\\s+453,376\\s+57,376\n.*"), "tensor row");
        assertTrue(out.contains("tensors (48):"));
        assertTrue(out.contains(String.format("totals: 48 tensors, %,d parameters", parameters(tiny))), out);
    }

    @Test
    void fullShowsTheWholeChatTemplateAndEveryElement() {
        Path tiny = Fixtures.path("text/tiny/tiny-f32.gguf");
        Run r = herd("inspect", "--full", tiny.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("tokenizer.chat_template") && r.out().contains("(1130 chars):"), "template as a block");
        assertTrue(r.out().contains("      | {%- if add_generation_prompt %}"), "template lines shown");
        assertFalse(r.out().contains("more]"), "no array is cut");
        Run few = herd("inspect", "--values", "2", tiny.toString());
        assertTrue(few.out().contains("[\"!\", \"\\\"\", ... 1769 more]"), few.out());
    }

    @Test
    void jsonIsCompleteAndMachineReadable() throws IOException {
        Path tiny = Fixtures.path("text/tiny/tiny-f32.gguf");
        Run r = herd("inspect", "--json", tiny.toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(3, j.get("version").asInt());
        assertEquals(32, j.get("alignment").asInt());
        assertEquals(1, j.get("parts").size());
        assertEquals("uint32", j.at("/metadata/llama4.embedding_length/type").asText());
        assertEquals(64, j.at("/metadata/llama4.embedding_length/value").asInt());
        JsonNode tokens = j.at("/metadata/tokenizer.ggml.tokens");
        assertEquals("array", tokens.get("type").asText());
        assertEquals("string", tokens.get("element_type").asText());
        assertEquals(1771, tokens.get("length").asInt());
        assertEquals(8, tokens.get("values").size());
        assertTrue(tokens.get("truncated").asBoolean());
        assertEquals(1130, j.at("/metadata/tokenizer.chat_template/value").asText().length(), "JSON strings are whole");
        assertEquals(48, j.get("tensors").size());
        JsonNode embd = j.get("tensors").get(0);
        assertEquals("token_embd.weight", embd.get("name").asText());
        assertEquals(List.of(64L, 1771L), List.of(embd.get("ne").get(0).asLong(), embd.get("ne").get(1).asLong()));
        assertEquals(57376, embd.get("offset").asLong());
        assertEquals(parameters(tiny), j.at("/totals/parameters").asLong());
        assertEquals(j.at("/totals/bytes").asLong(), j.at("/totals/by_type/F32/bytes").asLong());

        JsonNode all = new ObjectMapper().readTree(herd("inspect", "--json", "--full", tiny.toString()).out());
        assertEquals(1771, all.at("/metadata/tokenizer.ggml.tokens/values").size());
        assertFalse(all.at("/metadata/tokenizer.ggml.tokens/truncated").asBoolean());
    }

    @Test
    void splitModelsListTheirPartsAndUnusualValuesStayExact() throws IOException {
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "llama4")
                .put("x.u64", GgufValue.uint64(-1))
                .put("x.nan", GgufValue.float32(Float.NaN))
                .putArray("x.nested", GgufArray.ofArrays(GgufArray.ofInt32(1, 2), GgufArray.ofStrings("a")));
        for (int i = 0; i < 3; i++) w.addTensor("t" + i, GgmlType.Q8_0, new long[]{32, 2}, new byte[68]);
        List<Path> parts = w.writeSplit(dir.resolve("m"), GgufWriter.SplitPolicy.maxTensors(1));

        Run text = herd("inspect", parts.getFirst().toString());
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().contains("parts (3):") && text.out().contains("m-00003-of-00003.gguf"), text.out());
        assertTrue(text.out().contains("18446744073709551615"));
        assertTrue(text.out().contains("[int32[2] [1, 2], string[1] [\"a\"]]"), text.out());
        assertTrue(text.out().contains("totals: 3 tensors, 192 parameters, 204 B of tensor data"), text.out());

        JsonNode j = new ObjectMapper().readTree(herd("inspect", "--json", parts.getFirst().toString()).out());
        assertEquals(3, j.get("parts").size());
        assertEquals("18446744073709551615", j.at("/metadata/x.u64/value").asText());
        assertTrue(j.at("/metadata/x.u64/value").isBigInteger());
        assertEquals("NaN", j.at("/metadata/x.nan/value").asText());
        assertEquals("int32", j.at("/metadata/x.nested/values/0/element_type").asText());
        assertEquals(3, j.at("/tensors/2/part").asInt());
    }

    private static void assertOneLineError(Run r, int exit, String... fragments) {
        assertEquals(exit, r.exit(), r.err());
        assertEquals("", r.out());
        List<String> lines = r.err().lines().toList();
        assertEquals(1, lines.size(), "one line, no stack trace: " + r.err());
        assertTrue(lines.getFirst().startsWith("herd inspect: "), lines.getFirst());
        for (String f : fragments) assertTrue(lines.getFirst().contains(f), "lacks '" + f + "': " + lines.getFirst());
    }

    @Test
    void badFilesGiveOneLineAndExitOne() throws IOException {
        assertOneLineError(herd("inspect", dir.resolve("absent.gguf").toString()), 1, "absent.gguf", "no such GGUF file");
        assertOneLineError(herd("inspect", dir.toString()), 1, "is a directory");

        Path valid = dir.resolve("v.gguf");
        new GgufWriter().putString("general.architecture", "llama4").addTensor("t", GgmlType.F32, new long[]{8}, new byte[32]).write(valid);
        byte[] bytes = Files.readAllBytes(valid);
        Path truncated = dir.resolve("truncated.gguf");
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length - 40));
        assertOneLineError(herd("inspect", truncated.toString()), 1, "truncated.gguf", "truncated: tensor 't'");
        Path notGguf = dir.resolve("notes.txt");
        Files.writeString(notGguf, "hello world");
        assertOneLineError(herd("inspect", notGguf.toString()), 1, "notes.txt", "not a GGUF file");

        List<Path> parts = new GgufWriter().addTensor("a", GgmlType.F32, new long[]{1}, new byte[4])
                .addTensor("b", GgmlType.F32, new long[]{1}, new byte[4])
                .writeSplit(dir.resolve("s"), GgufWriter.SplitPolicy.maxTensors(1));
        assertOneLineError(herd("inspect", parts.get(1).toString()), 1, "open its first part, s-00001-of-00002.gguf");
    }

    @Test
    void badArgumentsExitTwo() {
        Run none = herd("inspect");
        assertEquals(2, none.exit());
        assertTrue(none.err().contains("Missing required parameter: 'FILE'"), none.err());
        assertFalse(none.err().contains("Exception"), none.err());
        assertEquals(2, herd("inspect", "--values", "-1", "x.gguf").exit());
        assertEquals(2, herd("inspect", "--bogus", "x.gguf").exit());
    }
}

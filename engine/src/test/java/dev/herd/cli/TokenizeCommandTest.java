package dev.herd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.herd.engine.testing.Fixtures;
import dev.herd.engine.tokenizer.TestResources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.herd.engine.tokenizer.TestResources.*;
import static org.junit.jupiter.api.Assertions.*;

/** {@code herd tokenize} end to end, in process. */
class TokenizeCommandTest {

    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {}

    static Run herd(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int exit = HerdCli.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(exit, out.toString(), err.toString());
    }

    private static List<String> lines(String s) {
        return s.isEmpty() ? List.of() : List.of(s.split("\n"));
    }

    @Test
    void tokenizesEveryGgufGoldenCaseInOrder() {
        Path goldens = path("tokenizer/tokenizer_goldens.jsonl");
        Run run = herd("tokenize", "--model", path("tokenizer/vocab.gguf").toString(), "--input", goldens.toString());
        assertEquals("", run.err());
        assertEquals(0, run.exit());
        List<JsonNode> cases = jsonLines(goldens);
        List<String> out = lines(run.out());
        assertEquals(cases.size(), out.size());
        for (int i = 0; i < cases.size(); i++) {
            assertEquals("{\"ids\":" + cases.get(i).get("ids").toString() + "}", out.get(i), "line " + (i + 1));
        }
    }

    @Test
    void tokenizesWithTiktokenModel() throws Exception {
        List<String> input = new ArrayList<>(), expected = new ArrayList<>();
        for (JsonNode c : json(path("hf-tiny-llama4/tokenizer_goldens.json")).get("cases")) {
            for (boolean special : new boolean[]{true, false}) {
                ObjectNode line = JSON.createObjectNode().put("text", c.get("text").asText()).put("add_bos", special).put("parse_special", special);
                input.add(line.toString());
                List<Integer> ids = new ArrayList<>();
                if (special) ids.add(200000); // add_bos: <|begin_of_text|>
                c.get(special ? "ids_special_allowed" : "ids_special_as_text").forEach(id -> ids.add(id.asInt()));
                expected.add("{\"ids\":" + ids.toString().replace(" ", "") + "}");
            }
        }
        Path cases = dir.resolve("cases.jsonl");
        Files.write(cases, input);
        Run run = herd("tokenize", "--model", Fixtures.path("llama4-tokenizer/tokenizer.model").toString(), "--input", cases.toString());
        assertEquals(0, run.exit(), run.err());
        assertEquals(expected, lines(run.out()));
    }

    @Test
    void badArgumentsAndFilesGiveOneClearLine() throws Exception {
        String vocab = path("tokenizer/vocab.gguf").toString();
        Path cases = dir.resolve("cases.jsonl");
        Files.writeString(cases, "{\"text\": \"hi\", \"add_bos\": true, \"parse_special\": false}\n");

        assertClearError(herd("tokenize", "--model", dir.resolve("missing.gguf").toString(), "--input", cases.toString()), "no such file: ");
        assertClearError(herd("tokenize", "--model", vocab, "--input", dir.resolve("missing.jsonl").toString()), "--input: no such file");
        Path garbage = dir.resolve("garbage.bin");
        Files.writeString(garbage, "this is not a tokenizer\n");
        assertClearError(herd("tokenize", "--model", garbage.toString(), "--input", cases.toString()), "cannot read a tokenizer from");
        Path truncatedGguf = dir.resolve("truncated.gguf");
        Files.write(truncatedGguf, java.util.Arrays.copyOf(Files.readAllBytes(path("tokenizer/vocab.gguf")), 100));
        assertClearError(herd("tokenize", "--model", truncatedGguf.toString(), "--input", cases.toString()), "truncated.gguf");

        Files.writeString(cases, "{\"text\": \"hi\", \"add_bos\": true, \"parse_special\": false}\n\n{\"text\": \"hi\", \"add_bos\": true\n");
        assertClearError(herd("tokenize", "--model", vocab, "--input", cases.toString()), "cases.jsonl line 3: not valid JSON");
        Files.writeString(cases, "{\"text\": \"hi\", \"add_bos\": \"yes\", \"parse_special\": false}\n");
        assertClearError(herd("tokenize", "--model", vocab, "--input", cases.toString()), "line 1: \"add_bos\" must be true or false");
        Files.writeString(cases, "{\"text\": 5, \"add_bos\": true, \"parse_special\": false}\n");
        assertClearError(herd("tokenize", "--model", vocab, "--input", cases.toString()), "line 1: \"text\" must be a string");
        Files.writeString(cases, "[1, 2]\n");
        assertClearError(herd("tokenize", "--model", vocab, "--input", cases.toString()), "line 1: expected a JSON object");

        Run noArgs = herd("tokenize");
        assertNotEquals(0, noArgs.exit());
        assertTrue(noArgs.err().contains("Missing required options"), noArgs.err());
    }

    private static void assertClearError(Run run, String fragment) {
        assertNotEquals(0, run.exit());
        assertTrue(run.err().startsWith("herd tokenize: "), run.err());
        assertTrue(run.err().contains(fragment), () -> "'" + run.err() + "' should contain '" + fragment + "'");
        assertFalse(run.err().contains("\tat "), "no stack trace: " + run.err());
        assertEquals(1, run.err().strip().lines().count(), run.err());
    }
}

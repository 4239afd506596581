package dev.herd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.herd.engine.testing.Fixtures;
import dev.herd.engine.testing.Goldens;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

/** The JSON and file contracts of bin/herd generate, score and logits, driven in-process. */
class CliContractTest {

    record Run(int code, String out, String err) {}

    static Run herd(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = HerdCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void generateWithTokensIsGreedyAndMatchesLlamaCpp() throws Exception {
        JsonNode manifest = Goldens.json(Fixtures.path("manifest.json"));
        JsonNode gold = Goldens.json(Fixtures.path("text/tiny/goldens/result.json")).get("prompts").get(0);
        String ids = IntStream.of(Goldens.ints(manifest.get("prompts").get(0).get("ids"))).mapToObj(Integer::toString).collect(Collectors.joining(","));
        Run r = herd("generate", "--model", Fixtures.path("text/tiny/tiny-f32.gguf").toString(), "--tokens", ids,
                "--max-tokens", "24", "--ignore-eos", "--json", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        JsonNode out = JSON.readTree(r.out());
        assertArrayEquals(Goldens.ints(gold.get("greedy_ids")), Goldens.ints(out.get("ids")));
        assertEquals("length", out.get("finish_reason").asText());
        assertTrue(out.get("text").isTextual());
    }

    @Test
    void generateWithAPromptAndChat() throws Exception {
        Run r = herd("generate", "--model", Fixtures.path("text/tiny/tiny-f32.gguf").toString(), "--prompt", "What is 2+2?",
                "--chat", "--max-tokens", "3", "--json", "--temperature", "0.8", "--top-k", "40", "--top-p", "0.9", "--seed", "5");
        assertEquals(0, r.code(), r.err());
        JsonNode out = JSON.readTree(r.out());
        assertEquals(23, out.get("prompt_tokens").asInt(), "the chat template's tokens, one BOS");
        assertTrue(out.get("ids").size() <= 3);
    }

    @Test
    void scorePrintsTheContract() throws Exception {
        Run r = herd("score", "--model", Fixtures.path("text/tiny/tiny-f32.gguf").toString(), "--context", "The quick brown fox",
                "--continuation", " jumps over", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode out = JSON.readTree(r.out());
        assertEquals(out.get("n_tokens").asInt(), out.get("token_logprobs").size());
        double sum = 0;
        for (JsonNode t : out.get("token_logprobs")) sum += t.asDouble();
        assertEquals(sum, out.get("logprob").asDouble(), 1e-3);
        assertTrue(out.get("is_greedy").isBoolean());
    }

    @Test
    void logitsWritesEveryPosition(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("l.f32");
        Run r = herd("logits", "--model", Fixtures.path("text/tiny/tiny-f32.gguf").toString(), "--tokens", "1756, 864, 220", "--out", file.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(3L * 1771 * 4, Files.size(file));
    }

    @Test
    void badArgumentsGiveOneLineAndNoStackTrace() {
        Run missing = herd("generate", "--model", "/nope.gguf", "--tokens", "1", "--max-tokens", "2");
        assertNotEquals(0, missing.code());
        assertTrue(missing.err().contains("model file not found"), missing.err());
        assertFalse(missing.err().contains("\tat "), "no stack trace");
        Run both = herd("generate", "--model", "x", "--tokens", "1", "--prompt", "y", "--max-tokens", "2");
        assertNotEquals(0, both.code());
        Run badTemp = herd("generate", "--model", Fixtures.path("text/tiny/tiny-f32.gguf").toString(), "--tokens", "1", "--max-tokens", "2", "--temperature", "-1");
        assertEquals(2, badTemp.code());
        assertTrue(badTemp.err().contains("temperature"), badTemp.err());
        Run notGguf = herd("score", "--model", Fixtures.path("tokenizer/tokenizer.json").toString(), "--context", "a", "--continuation", "b");
        assertNotEquals(0, notGguf.code());
        assertTrue(notGguf.err().contains("not a GGUF"), notGguf.err());
        Run badKvType = herd("score", "--model", Fixtures.path("text/tiny/tiny-f32.gguf").toString(), "--context", "a",
                "--continuation", "b", "--kv-cache-type", "q8");
        assertEquals(2, badKvType.code());
        assertTrue(badKvType.err().contains("--kv-cache-type: unknown KV cache type 'q8' (expected f32 or f16)"), badKvType.err());
    }
}

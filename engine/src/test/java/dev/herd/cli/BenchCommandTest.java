package dev.herd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code herd bench --json}: the keys other checks read, on a tiny synthetic model, in process. */
class BenchCommandTest {

    @TempDir
    Path dir;

    /** {@code herd bench --json} with these arguments on a tiny synthetic Q8_0 model: its JSON output. */
    private JsonNode benchOnTinyModel(String... args) throws Exception {
        Path model = dir.resolve("tiny.gguf");
        assertEquals(0, run("synth", "--shape", "tiny", "--type", "Q8_0", "--out", model.toString()));
        List<String> command = new ArrayList<>(List.of("bench", "--model", model.toString(), "--threads", "2", "--json"));
        command.addAll(List.of(args));
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = HerdCli.run(command.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(0, code, err.toString());
        return new ObjectMapper().readTree(out.toString());
    }

    @Test
    void reportsPromptDecodePerBatchAndMemoryAsOneJsonObject() throws Exception {
        JsonNode json = benchOnTinyModel("--prompt-tokens", "32", "--gen-tokens", "8", "--decode-prompt-tokens", "8", "--batch", "1,3",
                "--warmup-rounds", "1");
        String out = json.toString();
        assertTrue(json.get("prompt_tokens_per_s").asDouble() > 0, out);
        JsonNode decode = json.get("decode_tokens_per_s");
        assertEquals(2, decode.size(), out);
        assertTrue(decode.get("1").asDouble() > 0 && decode.get("3").asDouble() > 0, out);
        boolean linux = System.getProperty("os.name").startsWith("Linux"); // RssAnon comes from /proc
        assertTrue(json.has("rss_outside_weights_mib") && (!linux || json.get("rss_outside_weights_mib").asDouble() > 0), out);
        assertEquals(2, json.get("threads").asInt());
        assertTrue(json.get("kv_cache_mib").asDouble() > 0, out);
        assertEquals("f32", json.get("kv_cache_type").asText(), "f32 is the default");
        assertEquals(8, json.get("decode_prompt_tokens").get("1").asInt(), out);
        assertEquals(8, json.get("decode_prompt_tokens").get("3").asInt(), out);
        // HotSpot reports its compilation time: one entry per timed test
        List<String> jitTests = new ArrayList<>();
        json.get("jit_compile_ms").fieldNames().forEachRemaining(jitTests::add);
        assertEquals(List.of("prompt", "1", "3"), jitTests, out);
        assertEquals(1, json.get("warmup_rounds").asInt(), "as --warmup-rounds asked: " + out);
        assertEquals(1, json.get("warmup_jit_compile_ms").size(), out);
    }

    @Test
    void decodeTestsDefaultToTheirLlamaCppCounterpartsPromptsAndRepetitions() throws Exception {
        JsonNode json = benchOnTinyModel("--prompt-tokens", "8", "--gen-tokens", "4", "--batch", "2,1");
        String out = json.toString();
        JsonNode prompts = json.get("decode_prompt_tokens");
        // one sequence from an empty cache, as llama-bench -n; batches with 128-token prompts, as llama-batched-bench -npp 128
        assertEquals(1, prompts.get("1").asInt(), out);
        assertEquals(128, prompts.get("2").asInt(), out);
        // as llama-bench -r 5 for the prompt and one sequence; one run of a batch, as llama-batched-bench
        JsonNode runs = json.get("repetitions");
        assertEquals(5, runs.get("prompt").asInt(), out);
        assertEquals(5, runs.get("1").asInt(), out);
        assertEquals(1, runs.get("2").asInt(), out);
        assertTrue(json.get("stddev_tokens_per_s").get("1").asDouble() > 0, "five runs never take exactly the same time: " + out);
        assertEquals(0, json.get("stddev_tokens_per_s").get("2").asDouble(), out);
        // warm-up: at least three rounds, then until one compiles (almost) nothing, at most eight
        int rounds = json.get("warmup_rounds").asInt();
        assertTrue(rounds >= 3 && rounds <= 8, out);
        JsonNode roundJit = json.get("warmup_jit_compile_ms");
        assertEquals(rounds, roundJit.size(), out);
        assertTrue(rounds == 8 || roundJit.get(rounds - 1).asLong() < 50, "stopped on a quiet round: " + out);
    }

    @Test
    void aBadKvCacheTypeIsOneLineNamingTheOption() throws Exception {
        Path model = dir.resolve("not-loaded.gguf");
        java.nio.file.Files.writeString(model, "never read: the option is checked first");
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = HerdCli.run(new String[]{"bench", "--model", model.toString(), "--kv-cache-type", "f8"},
                new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().contains("--kv-cache-type: unknown KV cache type 'f8' (expected f32 or f16)"), err.toString());
        assertFalse(err.toString().contains("\tat "), "no stack trace");
    }

    private static int run(String... args) {
        return HerdCli.run(args, new PrintWriter(new StringWriter(), true), new PrintWriter(new StringWriter(), true));
    }
}

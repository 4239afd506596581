package dev.herd.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herd.engine.gguf.GgufModel;
import dev.herd.engine.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.herd.engine.tokenizer.TestResources.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The real Llama 4 vocabulary: tiktoken's ids for 81 strings, from Meta's {@code tokenizer.model} and
 * from the GGUF llama.cpp's converter wrote for the same vocabulary.
 */
class TiktokenGoldenTest {

    static final JsonNode GOLDENS = json(path("hf-tiny-llama4/tokenizer_goldens.json"));

    static Tokenizer tiktoken() throws Exception {
        return Tokenizers.fromTiktoken(Fixtures.path("llama4-tokenizer/tokenizer.model"));
    }

    static Tokenizer gguf() throws Exception {
        try (GgufModel model = GgufModel.open(Fixtures.path("hf-tiny-llama4/gguf/tiny-llama4-bf16.gguf"))) {
            return Tokenizers.fromGguf(model.metadata());
        }
    }

    @Test
    void tokenizerModelMatchesTiktoken() throws Exception {
        assertMatchesGoldens(tiktoken());
    }

    @Test
    void convertedGgufMatchesTiktoken() throws Exception {
        assertMatchesGoldens(gguf());
    }

    static void assertMatchesGoldens(Tokenizer t) {
        assertEquals(GOLDENS.get("n_vocab").asInt(), t.vocabSize());
        GOLDENS.get("special_tokens_sample").fields().forEachRemaining(e ->
                assertEquals(e.getValue().asInt(), t.specialTokenId(e.getKey()), e.getKey()));
        List<String> failures = new ArrayList<>();
        JsonNode cases = GOLDENS.get("cases");
        assertEquals(81, cases.size());
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            check(failures, c, "ids_special_allowed", ints(c.get("ids_special_allowed")), t.encode(text, false, true));
            check(failures, c, "ids_special_as_text", ints(c.get("ids_special_as_text")), t.encode(text, false, false));
            assertEquals(text, t.decode(ints(c.get("ids_special_allowed"))), c.get("name").asText());
            assertEquals(text, t.decode(ints(c.get("ids_special_as_text"))), c.get("name").asText());
        }
        assertEquals(List.of(), failures, failures.size() + " mismatches");
    }

    private static void check(List<String> failures, JsonNode c, String what, int[] expected, int[] actual) {
        if (!Arrays.equals(expected, actual)) {
            failures.add(c.get("name").asText() + " " + what + "\n  expected " + Arrays.toString(expected) + "\n  actual   " + Arrays.toString(actual));
        }
    }
}

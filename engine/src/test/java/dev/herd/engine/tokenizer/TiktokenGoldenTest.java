package dev.herd.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herd.engine.gguf.GgufModel;
import dev.herd.engine.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

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

    static Tokenizer meta;
    static Tokenizer gguf;

    @BeforeAll
    static void load() throws Exception {
        meta = Tokenizers.fromTiktoken(Fixtures.path("llama4-tokenizer/tokenizer.model"));
        try (GgufModel model = GgufModel.open(Fixtures.path("hf-tiny-llama4/gguf/tiny-llama4-bf16.gguf"))) {
            gguf = Tokenizers.fromGguf(model.metadata());
        }
    }

    @Test
    void tokenizerModelMatchesTiktoken() throws Exception {
        assertMatchesGoldens(meta);
    }

    @Test
    void convertedGgufMatchesTiktoken() throws Exception {
        assertMatchesGoldens(gguf);
    }

    @Test
    void endOfGenerationTokensAreLlama4s() throws Exception {
        // Meta's tokenizer.py: eos = <|end_of_text|>, stop tokens = eos, <|eom|>, <|eot|>.
        assertEquals(200000, meta.bosId());
        assertEquals(200001, meta.eosId());
        assertEquals(200008, meta.eotId());
        assertEquals(java.util.Set.of(200001, 200007, 200008), endOfGeneration(meta));
        // The converted GGUF names <|eot|> as its EOS and has no eot/eom keys: found by their text.
        assertEquals(200000, gguf.bosId());
        assertEquals(200008, gguf.eosId());
        assertEquals(200008, gguf.eotId());
        assertEquals(200007, ((BpeTokenizer) gguf).eomId());
        assertEquals(java.util.Set.of(200001, 200007, 200008), endOfGeneration(gguf));
        assertTrue(gguf.addsBosByDefault() && meta.addsBosByDefault());
    }

    private static java.util.Set<Integer> endOfGeneration(Tokenizer t) {
        java.util.Set<Integer> ids = new java.util.TreeSet<>();
        for (int id = 0; id < t.vocabSize(); id++) if (t.isEndOfGeneration(id)) ids.add(id);
        return ids;
    }

    static void assertMatchesGoldens(Tokenizer t) {
        assertEquals(GOLDENS.get("n_vocab").asInt(), t.vocabSize());
        GOLDENS.get("special_tokens_sample").properties().forEach(e ->
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

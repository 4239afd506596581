package dev.herd.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herd.engine.gguf.GgufModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static dev.herd.engine.tokenizer.TestResources.*;
import static org.junit.jupiter.api.Assertions.*;

/** The synthetic Llama 4-style GGUF vocabulary against llama.cpp's llama-tokenize / detokenize goldens. */
class GgufVocabGoldenTest {

    static Tokenizer tokenizer;
    static List<JsonNode> cases;

    @BeforeAll
    static void load() throws Exception {
        try (GgufModel model = GgufModel.open(path("tokenizer/vocab.gguf"))) {
            tokenizer = Tokenizers.fromGguf(model.metadata());
        }
        cases = jsonLines(path("tokenizer/tokenizer_goldens.jsonl"));
        assertEquals(240, cases.size());
    }

    @Test
    void everyCaseTokenizesToLlamaCppIds() {
        List<String> failures = new ArrayList<>();
        for (JsonNode c : cases) {
            int[] expected = ints(c.get("ids"));
            int[] actual = tokenizer.encode(c.get("text").asText(), c.get("add_bos").asBoolean(), c.get("parse_special").asBoolean());
            if (!java.util.Arrays.equals(expected, actual)) {
                failures.add(c.get("text") + " bos=" + c.get("add_bos") + " special=" + c.get("parse_special")
                        + "\n  expected " + java.util.Arrays.toString(expected) + "\n  actual   " + java.util.Arrays.toString(actual));
            }
        }
        assertEquals(List.of(), failures, failures.size() + " of " + cases.size() + " cases differ");
    }

    @Test
    void isSafeToShareBetweenThreads() {
        List<int[]> expected = cases.stream().map(c -> tokenizer.encode(c.get("text").asText(), true, true)).toList();
        for (int round = 0; round < 20; round++) {
            java.util.stream.IntStream.range(0, cases.size()).parallel().forEach(i ->
                    assertArrayEquals(expected.get(i), tokenizer.encode(cases.get(i).get("text").asText(), true, true)));
        }
    }

    @Test
    void decodingGivesLlamaCppDetokenizedTextAndPieces() {
        for (JsonNode c : cases) {
            int[] ids = ints(c.get("ids"));
            assertArrayEquals(hex(c.get("detok_hex")), tokenizer.decode(ids).getBytes(StandardCharsets.UTF_8), c.get("text").asText());
            JsonNode pieces = c.get("pieces_hex");
            for (int i = 0; i < ids.length; i++) {
                assertArrayEquals(hex(pieces.get(i)), tokenizer.tokenBytes(ids[i]), "piece " + i + " of " + c.get("text"));
            }
        }
    }

    @Test
    void specialIdsAndEndOfGenerationMatchLlamaCpp() {
        JsonNode info = json(path("tokenizer/vocab_info.json"));
        assertEquals(info.get("n_vocab").asInt(), tokenizer.vocabSize());
        assertEquals(info.get("bos_id").asInt(), tokenizer.bosId());
        assertEquals(info.get("eos_id").asInt(), tokenizer.eosId());
        assertEquals(info.get("eot_id").asInt(), tokenizer.eotId());
        assertEquals(info.get("eom_id").asInt(), ((BpeTokenizer) tokenizer).eomId());
        assertTrue(tokenizer.addsBosByDefault());
        List<Integer> eog = new ArrayList<>();
        for (int id = 0; id < tokenizer.vocabSize(); id++) if (tokenizer.isEndOfGeneration(id)) eog.add(id);
        List<Integer> expectedEog = new ArrayList<>();
        info.get("llama_cpp_eog_ids").forEach(n -> expectedEog.add(n.asInt()));
        assertEquals(expectedEog, eog);
        info.get("special_ids").properties().forEach(e -> assertEquals(e.getValue().asInt(), tokenizer.specialTokenId(e.getKey()), e.getKey()));
        assertEquals(-1, tokenizer.specialTokenId("Hello"));
    }
}

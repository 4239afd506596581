package dev.herd.engine.model.llama4.vision;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.herd.engine.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Llama4ImageLayoutTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String HF = "hf-tiny-llama4/";
    private static final Set<String> LAYOUT_TOKENS = Set.of(Llama4ImageLayout.IMAGE_START, Llama4ImageLayout.IMAGE_END,
            Llama4ImageLayout.IMAGE, Llama4ImageLayout.PATCH, Llama4ImageLayout.TILE_X_SEPARATOR, Llama4ImageLayout.TILE_Y_SEPARATOR);

    /** Special-token ids of the fixture's real Llama 4 vocabulary (tokenizer.json added_tokens). */
    private static Map<String, Integer> specialIds;
    /** Tokens per tile of the fixture model, from its config.json vision section. */
    private static int tokensPerTile;

    @BeforeAll
    static void load() throws IOException {
        specialIds = new HashMap<>();
        try (JsonParser p = JSON.getFactory().createParser(Fixtures.path(HF + "tokenizer.json").toFile())) {
            p.nextToken();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                if (field.equals("added_tokens")) {
                    for (JsonNode t : JSON.<JsonNode>readValue(p, JsonNode.class)) specialIds.put(t.get("content").asText(), t.get("id").asInt());
                    break;   // the 12 MB vocabulary after it is not needed
                } else {
                    p.skipChildren();
                }
            }
        }
        JsonNode vision = JSON.readTree(Fixtures.path(HF + "config.json").toFile()).get("vision_config");
        tokensPerTile = Llama4ImageLayout.tokensPerTile(vision.get("image_size").asInt(), vision.get("patch_size").asInt(),
                vision.get("pixel_shuffle_ratio").asDouble());
    }

    /** Token texts, their order, the expanded prompt text and the prompt ids, against transformers' processor. */
    @ParameterizedTest
    @ValueSource(strings = {"img_a_80x56", "img_b_300x200", "img_c_48x48", "img_d_56x56"})
    void layoutMatchesTransformersProcessor(String name) throws IOException {
        JsonNode g = JSON.readTree(Fixtures.path(HF + "goldens/" + name + ".json").toFile());
        TileGrid grid = new TileGrid(g.get("aspect_ratio_tiles_hw").get(0).asInt(), g.get("aspect_ratio_tiles_hw").get(1).asInt());

        List<String> tokens = Llama4ImageLayout.tokens(grid, tokensPerTile);
        assertEquals(expandRuns(g.get("image_token_layout_runs")), tokens);
        assertEquals(g.get("n_patch_tokens").asInt(), tokens.stream().filter(Llama4ImageLayout.PATCH::equals).count());
        assertEquals(grid.totalTiles() * tokensPerTile, g.get("n_patch_tokens").asInt());

        assertEquals(g.get("prompt_text_expanded").asText(),
                Llama4ImageLayout.expandPrompt(g.get("prompt_text_before_expansion").asText(), List.of(grid), tokensPerTile));

        int[] ids = Llama4ImageLayout.tokenIds(grid, tokensPerTile, t -> specialIds.getOrDefault(t, -1));
        int[] prompt = ints(g.get("prompt_ids"));
        int start = indexOf(prompt, specialIds.get(Llama4ImageLayout.IMAGE_START));
        assertTrue(start >= 0, "prompt has <|image_start|>");
        assertArrayEquals(ids, Arrays.copyOfRange(prompt, start, Math.min(prompt.length, start + ids.length)));
        Set<Integer> layoutIds = new java.util.HashSet<>();
        LAYOUT_TOKENS.forEach(t -> layoutIds.add(specialIds.get(t)));
        for (int i = 0; i < prompt.length; i++) {
            if (i < start || i >= start + ids.length) assertFalse(layoutIds.contains(prompt[i]), "stray image token at " + i);
        }
    }

    @Test
    void tokensPerTileAsTheProcessorCountsThem() {
        assertEquals(144, Llama4ImageLayout.tokensPerTile(336, 14, 0.5));
        assertEquals(4, Llama4ImageLayout.tokensPerTile(56, 14, 0.5));
        assertEquals(576, Llama4ImageLayout.tokensPerTile(336, 14, 1.0));
        assertThrows(IllegalArgumentException.class, () -> Llama4ImageLayout.tokensPerTile(336, 15, 0.5));
    }

    @Test
    void multiTileLayoutRowByRowWithGlobalTileLast() {
        String P = Llama4ImageLayout.PATCH, X = Llama4ImageLayout.TILE_X_SEPARATOR, Y = Llama4ImageLayout.TILE_Y_SEPARATOR;
        assertEquals(List.of(Llama4ImageLayout.IMAGE_START, P, P, X, P, P, X, P, P, Y, P, P, X, P, P, X, P, P, Y,
                        Llama4ImageLayout.IMAGE, P, P, Llama4ImageLayout.IMAGE_END),
                Llama4ImageLayout.tokens(new TileGrid(2, 3), 2));
        assertEquals(List.of(Llama4ImageLayout.IMAGE_START, P, Y, P, Y, Llama4ImageLayout.IMAGE, P, Llama4ImageLayout.IMAGE_END),
                Llama4ImageLayout.tokens(new TileGrid(2, 1), 1));
    }

    /** Several images in one prompt: each placeholder, in order, gets its own image's layout. */
    @Test
    void expandsEveryPlaceholderInOrder() {
        String prompt = "A<|image|>B<|image|>C";
        String expanded = Llama4ImageLayout.expandPrompt(prompt, List.of(new TileGrid(1, 1), new TileGrid(1, 2)), 1);
        assertEquals("A<|image_start|><|image|><|patch|><|image_end|>B"
                + "<|image_start|><|patch|><|tile_x_separator|><|patch|><|tile_y_separator|><|image|><|patch|><|image_end|>C", expanded);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Llama4ImageLayout.expandPrompt(prompt, List.of(new TileGrid(1, 1)), 1));
        assertTrue(e.getMessage().contains("2 <|image|> placeholder(s) but 1 image(s)"), e.getMessage());
        assertEquals(0, Llama4ImageLayout.countPlaceholders("no images"));
    }

    @Test
    void idsFailClearlyWhenTheVocabularyLacksAnImageToken() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Llama4ImageLayout.tokenIds(new TileGrid(1, 1), 4, t -> t.equals(Llama4ImageLayout.PATCH) ? -1 : 7));
        assertTrue(e.getMessage().contains("<|patch|>"), e.getMessage());
    }

    @Test
    void jsonLayoutForTheCli() throws IOException {
        JsonNode j = JSON.readTree(Llama4ImageLayout.toJson(new TileGrid(1, 2), 2));
        assertEquals("[1,2]", j.get("tiles").toString());
        List<String> tokens = new ArrayList<>();
        j.get("tokens").forEach(t -> tokens.add(t.asText()));
        assertEquals(Llama4ImageLayout.tokens(new TileGrid(1, 2), 2), tokens);
    }

    /** "<|patch|>x4" runs of the goldens back to a token list. */
    private static List<String> expandRuns(JsonNode runs) {
        List<String> out = new ArrayList<>();
        for (JsonNode r : runs) {
            String s = r.asText();
            int x = s.lastIndexOf("|>x");
            if (x >= 0) {
                int n = Integer.parseInt(s.substring(x + 3));
                for (int i = 0; i < n; i++) out.add(s.substring(0, x + 2));
            } else {
                out.add(s);
            }
        }
        return out;
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) if (a[i] == v) return i;
        return -1;
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}

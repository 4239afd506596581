package dev.herd.engine.model.llama4.vision;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.herd.engine.image.ImageDecoder;
import dev.herd.engine.image.RgbImage;
import dev.herd.engine.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class Llama4ImagePreprocessorTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String HF = "hf-tiny-llama4/";

    /** The processor settings of the fixture model, read from its preprocessor_config.json. */
    private static Llama4ImagePreprocessor.Config fixtureConfig() throws IOException {
        JsonNode c = JSON.readTree(Fixtures.path(HF + "preprocessor_config.json").toFile());
        assertEquals(c.get("size").get("height").asInt(), c.get("size").get("width").asInt(), "square tiles");
        return new Llama4ImagePreprocessor.Config(c.get("size").get("height").asInt(), c.get("max_patches").asInt(),
                floats(c.get("image_mean")), floats(c.get("image_std")), c.get("rescale_factor").asDouble(),
                c.get("resize_to_max_canvas").asBoolean());
    }

    /**
     * transformers' pixel values for the four fixture images. The resize is PyTorch's integer uint8
     * kernel and the normalisation is replayed in bf16 step by step, so the expected difference is
     * zero: any non-zero value is a bug, not rounding.
     */
    @ParameterizedTest
    @ValueSource(strings = {"img_a_80x56", "img_b_300x200", "img_c_48x48", "img_d_56x56"})
    void fixtureImagesMatchTransformersExactly(String name) throws IOException {
        JsonNode golden = JSON.readTree(Fixtures.path(HF + "goldens/" + name + ".json").toFile());
        RgbImage image = new ImageDecoder().decode(Fixtures.path(HF + golden.get("image_file").asText()));
        assertArrayEquals(new int[] {image.width(), image.height()}, ints(golden.get("image_size_wh")));

        Llama4ImagePreprocessor.Preprocessed out = new Llama4ImagePreprocessor(fixtureConfig()).preprocess(image);

        int[] grid = ints(golden.get("aspect_ratio_tiles_hw"));
        assertEquals(new TileGrid(grid[0], grid[1]), out.grid(), "tile grid");
        int[] shape = ints(golden.get("pixel_values").get("shape"));
        assertEquals(shape[0], out.tiles().length, "tiles");
        assertEquals(shape[2], out.tileSize());
        float[] expected = readF32(Fixtures.path(HF + "goldens/" + golden.get("pixel_values").get("file").asText()));
        int perTile = shape[1] * shape[2] * shape[3];
        double maxDiff = 0;
        int firstBad = -1;
        for (int t = 0; t < shape[0]; t++) {
            assertEquals(perTile, out.tiles()[t].length);
            for (int i = 0; i < perTile; i++) {
                double d = Math.abs(out.tiles()[t][i] - expected[t * perTile + i]);
                if (d > 0 && firstBad < 0) firstBad = t * perTile + i;
                maxDiff = Math.max(maxDiff, d);
            }
        }
        assertEquals(0.0, maxDiff, name + ": max |Δ| vs transformers, first differing flat index " + firstBad);
    }

    static Stream<JsonNode> syntheticCases() throws IOException {
        try (InputStream in = Llama4ImagePreprocessorTest.class.getResourceAsStream("preprocess_goldens.json")) {
            List<JsonNode> cases = new ArrayList<>();
            JSON.readTree(in).get("cases").forEach(cases::add);
            return cases.stream();
        }
    }

    /**
     * transformers on synthetic images of many shapes, tile sizes, tile budgets, CLIP mean/std and
     * resize_to_max_canvas (goldens from make_preprocess_goldens.py beside the JSON): grid and
     * every tile bit for bit.
     */
    @ParameterizedTest(name = "{index}: {0}")
    @MethodSource("syntheticCases")
    void syntheticImagesMatchTransformersBitForBit(JsonNode c) throws Exception {
        int tile = c.get("tile").asInt();
        var config = new Llama4ImagePreprocessor.Config(tile, c.get("max_tiles").asInt(), floats(c.get("mean")),
                floats(c.get("std")), 1.0 / 255.0, c.get("resize_to_max_canvas").asBoolean());
        var out = new Llama4ImagePreprocessor(config).preprocess(synthetic(c.get("width").asInt(), c.get("height").asInt()));

        int[] grid = ints(c.get("grid"));
        assertEquals(new TileGrid(grid[0], grid[1]), out.grid());
        assertEquals(c.get("n_tiles").asInt(), out.tiles().length);
        for (int t = 0; t < out.tiles().length; t++) {
            ByteBuffer bytes = ByteBuffer.allocate(out.tiles()[t].length * 4).order(ByteOrder.LITTLE_ENDIAN);
            double sum = 0;
            for (float v : out.tiles()[t]) {
                bytes.putFloat(v);
                sum += v;
            }
            String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes.array()));
            assertEquals(c.get("tile_sha256").get(t).asText(), sha,
                    "tile " + t + " differs (sum " + sum + ", transformers " + c.get("tile_sum").get(t).asDouble() + ")");
        }
    }

    /** The synthetic image of make_preprocess_goldens.py. */
    static RgbImage synthetic(int w, int h) {
        byte[] px = new byte[w * h * 3];
        for (long y = 0; y < h; y++) {
            for (long x = 0; x < w; x++) {
                for (int c = 0; c < 3; c++) {
                    long v = (c != 1 ? x * 255 / Math.max(w - 1, 1) : 0) + (c != 0 ? y * 255 / Math.max(h - 1, 1) : 0)
                            + ((x * 31 + y * 17 + c * 71) * (x ^ y) + c * 29) % 53;
                    px[(int) ((y * w + x) * 3 + c)] = (byte) (v & 255);
                }
            }
        }
        return new RgbImage(w, h, px);
    }

    /** The example in transformers' find_supported_resolutions docstring (4 chunks of 224). */
    @Test
    void supportedCanvasesFollowTransformersOrder() {
        int[][] expected = {{224, 896}, {448, 448}, {224, 224}, {896, 224}, {224, 672}, {672, 224}, {224, 448}, {448, 224}};
        int[][] actual = Llama4ImagePreprocessor.supportedCanvases(4, 224);
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) assertArrayEquals(expected[i], actual[i], "canvas " + i);
    }

    /** The example in transformers' get_best_fit docstring: 200×300 among up-to-3-tile canvases of 224 picks 224×448. */
    @Test
    void bestFitPicksSmallestUpscaleThenSmallestArea() {
        var config = new Llama4ImagePreprocessor.Config(224, 3, new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f}, 1 / 255.0, false);
        assertEquals(new TileGrid(1, 2), new Llama4ImagePreprocessor(config).chooseGrid(200, 300));
    }

    @Test
    void singleTileImagesHaveNoGlobalTileAndPadWithMinusOne() {
        var pre = new Llama4ImagePreprocessor(Llama4ImagePreprocessor.Config.llama4(56));
        byte[] white = new byte[30 * 20 * 3];
        java.util.Arrays.fill(white, (byte) 255);
        var out = pre.preprocess(new RgbImage(20, 30, white));
        assertEquals(new TileGrid(1, 1), out.grid());
        assertEquals(1, out.tiles().length);
        // 20×30 is upscaled to 37×56 (height limits: 56/30) and padded on the right.
        float[] t = out.tiles()[0];
        assertEquals(1f, t[0]);
        assertEquals(1f, t[36]);
        assertEquals(-1f, t[37]);
        assertEquals(-1f, t[(2 * 56 + 55) * 56 + 55]);
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals(1.0f, Llama4ImagePreprocessor.bf16(1.00390625f));      // halfway, even below
        assertEquals(1.015625f, Llama4ImagePreprocessor.bf16(1.01171875f)); // halfway, even above
        assertEquals(1.0078125f, Llama4ImagePreprocessor.bf16(1.0058594f)); // above halfway
        assertEquals(-0.49804688f, Llama4ImagePreprocessor.bf16(-0.49803922f));
    }

    @Test
    void configRejectsUnusableValues() {
        float[] ok = {0.5f, 0.5f, 0.5f};
        assertThrows(IllegalArgumentException.class, () -> new Llama4ImagePreprocessor.Config(0, 16, ok, ok, 1 / 255.0, false));
        assertThrows(IllegalArgumentException.class, () -> new Llama4ImagePreprocessor.Config(56, 0, ok, ok, 1 / 255.0, false));
        assertThrows(IllegalArgumentException.class, () -> new Llama4ImagePreprocessor.Config(56, 16, ok, new float[] {0.5f, 0f, 0.5f}, 1 / 255.0, false));
        assertThrows(IllegalArgumentException.class, () -> new Llama4ImagePreprocessor.Config(56, 16, new float[] {0.5f}, ok, 1 / 255.0, false));
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) array.get(i).asDouble();
        return out;
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    static float[] readF32(Path path) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }
}

package dev.herd.engine.model.llama4.vision;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herd.engine.gguf.GgufModel;
import dev.herd.engine.runtime.ComputePool;
import dev.herd.engine.testing.Fixtures;
import dev.herd.engine.testing.Goldens;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The encoder on transformers' own pixel values against transformers' projector output
 * (issue bound 5e-3; transformers computes in fp32 on bf16-exact weights, as herd does, so the
 * error left is summation order — observed ~1e-6).
 */
class VisionEncoderConformanceTest {

    static final double EMBEDDING_TOLERANCE = 5e-3;

    @ParameterizedTest
    @ValueSource(strings = {"img_a_80x56", "img_b_300x200", "img_c_48x48", "img_d_56x56"})
    void projectedEmbeddingsMatchTransformers(String image) throws Exception {
        JsonNode golden = Goldens.json(Fixtures.path("hf-tiny-llama4/goldens/" + image + ".json"));
        float[] pixels = Goldens.f32(Fixtures.path("hf-tiny-llama4/goldens/" + golden.get("pixel_values").get("file").asText()));
        int tiles = golden.get("pixel_values").get("shape").get(0).asInt();
        float[] expected = Goldens.f32(Fixtures.path("hf-tiny-llama4/goldens/" + golden.get("projected_embeddings").get("file").asText()));
        try (ComputePool pool = new ComputePool(2);
             Llama4VisionEncoder encoder = Llama4VisionEncoder.load(GgufModel.open(Fixtures.path("hf-tiny-llama4/gguf/mmproj-tiny-llama4-f32.gguf")), pool)) {
            float[] got = encoder.encode(pixels, tiles);
            assertEquals(expected.length, got.length);
            double diff = Goldens.maxAbsDiff(got, 0, expected, 0, expected.length);
            System.out.printf("%s (%d tiles): max |d embedding| = %.3g%n", image, tiles, diff);
            assertTrue(diff <= EMBEDDING_TOLERANCE, image + ": " + diff);
        }
    }
}

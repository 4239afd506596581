package dev.herd.engine.gguf;

import dev.herd.engine.tensor.GgmlType;
import dev.herd.engine.tensor.Tensor;
import dev.herd.engine.testing.Fixtures;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Reads the reference GGUF files and checks what their manifest says they hold. */
class GgufModelFixtureTest {

    @Test
    void readsTinyModelMetadataAndTensors() throws Exception {
        try (GgufModel model = GgufModel.open(Fixtures.path("text/tiny/tiny-f32.gguf"))) {
            GgufModel.Metadata md = model.metadata();
            assertEquals("llama4", md.string("general.architecture"));
            assertEquals(64, md.int32("llama4.embedding_length"));
            assertEquals(4, md.int32("llama4.block_count"));
            assertEquals(500000f, md.float32("llama4.rope.freq_base"));
            assertEquals(1771, md.stringArray("tokenizer.ggml.tokens").length);
            assertEquals(1500, md.stringArray("tokenizer.ggml.merges").length);
            assertEquals(1756, md.int32("tokenizer.ggml.bos_token_id"));

            Tensor embd = model.tensor("token_embd.weight");
            assertEquals(GgmlType.F32, embd.type());
            assertArrayEquals(new long[]{64, 1771}, embd.ne());
            Tensor gateExps = model.tensor("blk.1.ffn_gate_exps.weight");
            assertArrayEquals(new long[]{64, 64, 4}, gateExps.ne());
            float[] freqs = model.tensor("rope_freqs.weight").toFloatArray();
            assertArrayEquals(new float[]{1, 1, 1, 1, 1, 16, 16, 16}, freqs);
            assertThrows(GgufFormatException.class, () -> model.tensor("blk.9.attn_q.weight"));
        }
    }

    @Test
    void readsEveryQuantisedVariantHeader() throws Exception {
        for (String variant : new String[]{"f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k_m", "q4_k_m", "q5_k_m", "q6_k"}) {
            try (GgufModel model = GgufModel.open(Fixtures.path("text/small/small-" + variant + ".gguf"))) {
                assertEquals(256, model.metadata().int32("llama4.embedding_length"), variant);
                assertNull(model.tensorOrNull("output.weight"), "small models tie the output to the embedding");
                assertEquals(GgmlType.F32, model.tensor("blk.1.ffn_gate_inp.weight").type(), "routers stay F32");
            }
        }
    }
}

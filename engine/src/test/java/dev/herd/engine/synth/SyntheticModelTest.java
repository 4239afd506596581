package dev.herd.engine.synth;

import dev.herd.engine.Engine;
import dev.herd.engine.EngineOptions;
import dev.herd.engine.GenerationRequest;
import dev.herd.engine.GenerationResult;
import dev.herd.engine.Prompt;
import dev.herd.engine.gguf.GgufModel;
import dev.herd.engine.tensor.GgmlType;
import dev.herd.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class SyntheticModelTest {

    @TempDir
    Path dir;

    /** Every preset writes a file herd loads and runs, with the tensor types llama-quantize would choose. */
    @ParameterizedTest
    @EnumSource(SyntheticModel.Preset.class)
    void everyPresetLoadsAndGenerates(SyntheticModel.Preset preset) throws Exception {
        Path file = dir.resolve("m.gguf");
        SyntheticModel.write(SyntheticModel.Shape.TINY, preset, 3, file);
        try (GgufModel gguf = GgufModel.open(file)) {
            assertEquals("llama4", gguf.metadata().string("general.architecture"));
            assertEquals(GgmlType.F32, gguf.tensor("blk.1.ffn_gate_inp.weight").type(), "routers stay F32");
            assertEquals(GgmlType.F32, gguf.tensor("output_norm.weight").type());
            GgmlType expectedOutput = switch (preset) {
                case F32, F16, BF16, Q8_0, Q6_K -> preset.base;
                default -> GgmlType.Q6_K;
            };
            assertEquals(expectedOutput, gguf.tensor("output.weight").type());
            assertEquals(preset.base, gguf.tensor("blk.0.attn_q.weight").type());
            long params = 0;
            for (Tensor t : gguf.tensors().values()) params += t.elementCount();
            assertEquals(SyntheticModel.Shape.TINY.parameters(), params);
        }
        try (Engine engine = Engine.load(EngineOptions.of(file).withThreads(2))) {
            GenerationResult r = engine.generate(GenerationRequest.greedy(new Prompt.Text("the quick brown fox"), 6).withIgnoreEos(true)).get();
            assertNull(r.error());
            assertEquals(6, r.ids().length);
            float[] logits = new float[engine.modelInfo().vocabSize()];
            ((dev.herd.engine.runtime.BatchEngine) engine).logits(new int[]{1, 2, 3}, (pos, l, off, v) -> System.arraycopy(l, off, logits, 0, v)).get();
            for (float v : logits) assertTrue(Float.isFinite(v), "finite logits");
        }
    }

    @Test
    void sameSeedSameBytesAndTheBenchShapeHas744MParameters() throws Exception {
        Path a = dir.resolve("a.gguf"), b = dir.resolve("b.gguf");
        SyntheticModel.write(SyntheticModel.Shape.TINY, SyntheticModel.Preset.Q4_K_M, 9, a);
        SyntheticModel.write(SyntheticModel.Shape.TINY, SyntheticModel.Preset.Q4_K_M, 9, b);
        assertEquals(-1L, Files.mismatch(a, b));
        assertEquals(744, Math.round(SyntheticModel.Shape.BENCH.parameters() / 1e6));
    }
}

package dev.herd.engine.model;

import dev.herd.engine.gguf.GgufFormatException;
import dev.herd.engine.gguf.GgufModel;
import dev.herd.engine.model.llama4.Llama4Config;
import dev.herd.engine.model.llama4.Llama4TextModel;
import dev.herd.engine.model.llama4.Llama4Weights;
import dev.herd.engine.runtime.ComputePool;
import dev.herd.engine.runtime.TextModel;
import dev.herd.engine.runtime.VisionModel;
import dev.herd.engine.model.llama4.vision.Llama4Vision;
import dev.herd.engine.model.llama4.vision.Llama4VisionEncoder;

import java.io.IOException;

/** Builds the text model a GGUF file describes, by its {@code general.architecture}. */
public final class ModelLoader {
    private ModelLoader() {}

    /** The model over {@code gguf}'s mapped tensors; closing the model closes the file. */
    public static TextModel load(GgufModel gguf, ComputePool pool) throws IOException {
        String arch = gguf.metadata().string("general.architecture");
        return switch (arch) {
            case "llama4" -> {
                Llama4Config config = Llama4Config.fromGguf(gguf);
                yield new Llama4TextModel(config, Llama4Weights.fromGguf(gguf, config), pool, gguf);
            }
            default -> throw new GgufFormatException(gguf.path(), "general.architecture '" + arch + "' is not supported (herd runs llama4)");
        };
    }

    /** The vision tower an mmproj GGUF describes; closing it closes the file. */
    public static VisionModel loadVision(GgufModel mmproj, ComputePool pool) throws IOException {
        try {
            return new Llama4Vision(Llama4VisionEncoder.load(mmproj, pool));
        } catch (IOException | RuntimeException e) {
            mmproj.close();
            throw e;
        }
    }
}

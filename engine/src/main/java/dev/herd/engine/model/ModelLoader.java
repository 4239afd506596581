package dev.herd.engine.model;

import dev.herd.engine.gguf.GgufFormatException;
import dev.herd.engine.gguf.GgufModel;
import dev.herd.engine.model.llama4.Llama4Config;
import dev.herd.engine.model.llama4.Llama4TextModel;
import dev.herd.engine.model.llama4.Llama4Weights;
import dev.herd.engine.runtime.ComputePool;
import dev.herd.engine.runtime.TextModel;

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
}

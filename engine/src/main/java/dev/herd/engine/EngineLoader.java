package dev.herd.engine;

import dev.herd.engine.chat.ChatTemplate;
import dev.herd.engine.chat.ChatTemplates;
import dev.herd.engine.gguf.GgufModel;
import dev.herd.engine.tokenizer.Tokenizer;
import dev.herd.engine.tokenizer.Tokenizers;
import dev.herd.engine.model.ModelLoader;
import dev.herd.engine.runtime.BatchEngine;
import dev.herd.engine.runtime.ComputePool;
import dev.herd.engine.runtime.TextModel;
import dev.herd.engine.runtime.VisionModel;

import java.io.IOException;

/** Opens the files an {@link EngineOptions} names and assembles a {@link BatchEngine}. */
final class EngineLoader {
    private EngineLoader() {}

    static BatchEngine load(EngineOptions options) throws IOException {
        ComputePool pool = new ComputePool(options.effectiveThreads());
        GgufModel gguf = null;
        VisionModel vision = null;
        try {
            gguf = GgufModel.open(options.model());
            TextModel model = ModelLoader.load(gguf, pool);
            if (options.mmproj() != null) vision = ModelLoader.loadVision(GgufModel.open(options.mmproj()), pool);
            int context = options.contextLength() > 0 ? options.contextLength() : model.contextLength();
            String name = gguf.metadata().string("general.name", options.model().getFileName().toString());
            ModelInfo info = new ModelInfo(name, gguf.metadata().string("general.architecture"),
                    dominantType(gguf), context, model.vocabSize(), vision != null);
            Tokenizer tokenizer = Tokenizers.fromGguf(gguf.metadata());
            ChatTemplate template = ChatTemplates.forModel(gguf.metadata(), tokenizer);
            return new BatchEngine(model, vision, tokenizer, template, info, options, pool);
        } catch (IOException | RuntimeException e) {
            if (gguf != null) gguf.close();
            if (vision != null) vision.close();
            pool.close();
            throw e;
        }
    }

    /** The weight type holding the most bytes (what a person calls the file's quantisation). */
    static String dominantType(GgufModel gguf) {
        java.util.Map<dev.herd.engine.tensor.GgmlType, Long> bytes = new java.util.EnumMap<>(dev.herd.engine.tensor.GgmlType.class);
        gguf.tensors().values().forEach(t -> bytes.merge(t.type(), t.data().byteSize(), Long::sum));
        return bytes.entrySet().stream().max(java.util.Map.Entry.comparingByValue()).map(e -> e.getKey().name()).orElse("unknown");
    }
}

package dev.herd.engine.runtime;

import dev.herd.engine.Engine;
import dev.herd.engine.EngineOptions;

import java.io.IOException;

/** The engine: model, KV cache and a scheduler that batches every sequence in flight. */
public final class BatchEngine {
    private BatchEngine() {}

    public static Engine load(EngineOptions options) throws IOException {
        throw new UnsupportedOperationException("the engine is being built: see issue 2");
    }
}

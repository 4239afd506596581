package dev.herd.spark.model;

import dev.herd.engine.Engine;
import dev.herd.engine.EngineOptions;

import java.io.IOException;

/**
 * Builds the engine an executor runs ({@code engine.factory} names the class; it needs a public
 * no-argument constructor). The default loads herd's engine; tests plug in doubles.
 */
public interface EngineFactory {

    Engine create(EngineOptions options) throws IOException;

    final class Default implements EngineFactory {
        @Override
        public Engine create(EngineOptions options) throws IOException {
            return Engine.load(options);
        }
    }
}

package dev.herd.engine.runtime;

/** Receives one position's logits ({@code vocab} floats from {@code offset}); called on the scheduler thread, in position order. */
@FunctionalInterface
public interface LogitsSink {
    void accept(int position, float[] logits, int offset, int vocab);
}

package dev.herd.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Encodes one activation vector into an {@link EncodedActivations} slot, as llama.cpp quantises it. */
final class ActivationEncoders {
    private ActivationEncoders() {}

    static void encode(ActivationEncoding encoding, float[] src, int offset, int n, EncodedActivations dst, int t) {
        switch (encoding) {
            case F32 -> MemorySegment.copy(src, offset, dst.values(), ValueLayout.JAVA_FLOAT, (long) t * n * 4, n);
            default -> throw new UnsupportedOperationException(encoding + " activations are not implemented yet");
        }
    }
}

package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * Quantised types, whose single-vector matmul (token generation, the common case) decodes each
 * block in registers as it multiplies ({@link #dot1}) rather than through a scratch row. dot1 must
 * give each vector the same integer lanes and the same float operations in the same order as
 * {@link #dotDecoded}, so that a result never depends on the batch it came in; the tests check it.
 */
abstract class FusedRowKernel extends RowKernel {

    FusedRowKernel(GgmlType type, ActivationEncoding encoding) {
        super(type, encoding);
    }

    @Override
    final void multiplySingle(MemorySegment w, long rowBytes, int rowStart, int rowEnd, EncodedActivations x, float[] out) {
        int[] scratch = new int[32];
        for (int r = rowStart; r < rowEnd; r++) out[r] = dot1(w, r * rowBytes, x, scratch);
    }

    /** Dot product of the row at byte {@code row} with the only vector of {@code x}; {@code scratch} holds 32 ints. */
    abstract float dot1(MemorySegment w, long row, EncodedActivations x, int[] scratch);
}

package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

/**
 * IEEE half weights against activations rounded to half (llama.cpp's F16 {@code vec_dot_type}):
 * both sides widened exactly to float, products exact, FMA accumulation as {@code ggml_vec_dot_f16}.
 */
public final class F16 extends FloatRowKernel {

    public F16() { super(GgmlType.F16, ActivationEncoding.F16, 2); }

    @Override
    FloatVector weights(MemorySegment w, long offset) { return Simd256.halves(w, offset); }

    @Override
    float weight(MemorySegment w, long offset) { return f16(w, offset); }
}

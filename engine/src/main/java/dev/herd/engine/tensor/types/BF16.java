package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.Float16s;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

/**
 * bfloat16 weights against activations rounded to bfloat16 (llama.cpp's BF16
 * {@code vec_dot_type}): both sides widened exactly to float, products exact, FMA accumulation.
 */
public final class BF16 extends FloatRowKernel {

    public BF16() { super(GgmlType.BF16, ActivationEncoding.BF16, 2); }

    @Override
    FloatVector weights(MemorySegment w, long offset) { return Simd256.bf16s(w, offset); }

    @Override
    float weight(MemorySegment w, long offset) { return Float16s.bf16ToFloat(w.get(LE_SHORT, offset)); }
}

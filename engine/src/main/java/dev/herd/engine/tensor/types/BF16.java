package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.Float16s;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static dev.herd.engine.tensor.types.Simd256.NATIVE;

/**
 * bfloat16 weights, widened exactly to float, against float activations. llama.cpp rounds the
 * activations to bfloat16 first ({@link ActivationEncoding#BF16}); herd keeps them in float, as
 * transformers does, so greedy output follows the reference port.
 */
public final class BF16 extends FloatRowKernel {

    public BF16() { super(GgmlType.BF16, ActivationEncoding.F32, 2); }

    @Override
    float weight(MemorySegment w, long offset) { return Float16s.bf16ToFloat(w.get(LE_SHORT, offset)); }

    @Override
    void decodeRow(MemorySegment w, long row, int n, MemorySegment dst) {
        int i = 0;
        for (; i + 8 <= n; i += 8) Simd256.bf16s(w, row + i * 2L).intoMemorySegment(dst, i * 4L, NATIVE);
        decodeTail(w, row, i, n, dst);
    }

    @Override
    float dot1(MemorySegment w, long row, EncodedActivations x, int[] scratch) {
        int n = x.length();
        MemorySegment xs = x.values();
        FloatVector acc0 = FloatVector.zero(Simd256.FLOATS), acc1 = acc0;
        int i = 0;
        for (; i + 16 <= n; i += 16) {
            acc0 = Simd256.bf16s(w, row + i * 2L).fma(Simd256.activations(xs, i * 4L), acc0);
            acc1 = Simd256.bf16s(w, row + i * 2L + 16).fma(Simd256.activations(xs, i * 4L + 32), acc1);
        }
        return tail(Simd256.sum(acc0.add(acc1)), w, row, i, n, xs);
    }
}

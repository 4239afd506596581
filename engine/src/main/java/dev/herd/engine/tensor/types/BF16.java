package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.Float16s;
import dev.herd.engine.tensor.GgmlType;

import java.lang.foreign.MemorySegment;

import static dev.herd.engine.tensor.types.Simd256.NATIVE;

/**
 * bfloat16 weights against activations rounded to bfloat16 (llama.cpp's BF16
 * {@code vec_dot_type}): both sides widened exactly to float, products exact, FMA accumulation.
 */
public final class BF16 extends FloatRowKernel {

    public BF16() { super(GgmlType.BF16, ActivationEncoding.BF16, 2); }

    @Override
    float weight(MemorySegment w, long offset) { return Float16s.bf16ToFloat(w.get(LE_SHORT, offset)); }

    @Override
    void decodeRow(MemorySegment w, long row, int n, MemorySegment dst) {
        int i = 0;
        for (; i + 8 <= n; i += 8) Simd256.bf16s(w, row + i * 2L).intoMemorySegment(dst, i * 4L, NATIVE);
        decodeTail(w, row, i, n, dst);
    }
}

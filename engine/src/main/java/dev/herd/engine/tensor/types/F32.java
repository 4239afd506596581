package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** 32-bit float weights against float activations. */
public final class F32 extends FloatRowKernel {

    public F32() { super(GgmlType.F32, ActivationEncoding.F32, 4); }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        MemorySegment.copy(src, LE_FLOAT, byteOffset, dst, dstOffset, count);
    }

    @Override
    float weight(MemorySegment w, long offset) { return w.get(LE_FLOAT, offset); }

    @Override
    void decodeRow(MemorySegment w, long row, int n, MemorySegment dst) {
        MemorySegment.copy(w, LE_FLOAT, row, dst, ValueLayout.JAVA_FLOAT, 0, n);
    }

    @Override
    float dot1(MemorySegment w, long row, EncodedActivations x, int[] scratch) {
        int n = x.length();
        MemorySegment xs = x.values();
        FloatVector acc0 = FloatVector.zero(Simd256.FLOATS), acc1 = acc0;
        int i = 0;
        for (; i + 16 <= n; i += 16) {
            acc0 = Simd256.floats(w, row + i * 4L).fma(Simd256.activations(xs, i * 4L), acc0);
            acc1 = Simd256.floats(w, row + i * 4L + 32).fma(Simd256.activations(xs, i * 4L + 32), acc1);
        }
        return tail(Simd256.sum(acc0.add(acc1)), w, row, i, n, xs);
    }
}

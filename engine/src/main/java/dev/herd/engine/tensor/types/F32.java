package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.GgmlType;

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
}

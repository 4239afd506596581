package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

/** 32-bit float weights against float activations. */
public final class F32 extends FloatRowKernel {

    public F32() { super(GgmlType.F32, ActivationEncoding.F32, 4); }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        MemorySegment.copy(src, LE_FLOAT, byteOffset, dst, dstOffset, count);
    }

    @Override
    FloatVector weights(MemorySegment w, long offset) { return Simd256.floats(w, offset); }

    @Override
    float weight(MemorySegment w, long offset) { return w.get(LE_FLOAT, offset); }
}

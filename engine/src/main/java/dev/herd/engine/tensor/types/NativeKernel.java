package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import dev.herd.engine.tensor.HeapSegments;
import dev.herd.engine.tensor.WeightKernel;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * A weight type's matmul in C (see {@link NativeKernels}), computing bit for bit what the Java
 * kernel computes; decoding is left to the Java kernel. One native call per row range, with the
 * weights, the activation buffers and the output handed over in place: the call is "critical"
 * (no safepoint inside, heap arrays pinned), which is fine for calls of a few milliseconds.
 */
final class NativeKernel implements WeightKernel {

    private final WeightKernel java;
    private final MethodHandle matmul;
    private final String isa;

    NativeKernel(WeightKernel java, MethodHandle matmul, String isa) {
        this.java = java;
        this.matmul = matmul;
        this.isa = isa;
    }

    @Override
    public GgmlType type() { return java.type(); }

    @Override
    public ActivationEncoding activationEncoding() { return java.activationEncoding(); }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        java.dequantize(src, byteOffset, dst, dstOffset, count);
    }

    @Override
    public void matmul(MemorySegment w, long rowBytes, int rowStart, int rowEnd, EncodedActivations x, float[] out, int outStride) {
        if (!RowKernel.checkMatmul(this, w, rowBytes, rowStart, rowEnd, x, out, outStride)) return;
        int status;
        try {
            status = (int) matmul.invokeExact(w, rowBytes, rowStart, rowEnd, x.values(), x.scales(), x.sums(), x.length(), x.count(),
                    HeapSegments.of(out), outStride, x.bytes());
        } catch (Throwable e) {
            throw new IllegalStateException("native " + type() + " matmul failed", e);
        }
        if (status != 0) throw new OutOfMemoryError("native " + type() + " matmul could not allocate its scratch rows (n = " + x.length() + ")");
    }

    @Override
    public String toString() {
        return "native " + type() + " kernel (" + isa + ")";
    }
}

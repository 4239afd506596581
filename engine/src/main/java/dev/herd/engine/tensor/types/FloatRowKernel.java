package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.herd.engine.tensor.types.Simd256.FLOATS;
import static dev.herd.engine.tensor.types.Simd256.activations;

/**
 * Weights stored as floats of some width (F32, F16, BF16) against float activations (already
 * rounded to the weight's precision, as llama.cpp does): per vector two FMA chains of eight lanes
 * over 16 values at a time, a fixed butterfly sum, then the leftover values one by one.
 */
abstract sealed class FloatRowKernel extends RowKernel permits F32, F16, BF16 {

    private final int weightBytes;

    FloatRowKernel(GgmlType type, ActivationEncoding encoding, int weightBytes) {
        super(type, encoding);
        this.weightBytes = weightBytes;
    }

    /** Eight weights starting at byte {@code offset}, as floats. */
    abstract FloatVector weights(MemorySegment w, long offset);

    /** One weight at byte {@code offset}, as a float. */
    abstract float weight(MemorySegment w, long offset);

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        for (int i = 0; i < count; i++) dst[dstOffset + i] = weight(src, byteOffset + (long) i * weightBytes);
    }

    @Override
    final float dot1(MemorySegment w, long row, EncodedActivations x, int t) {
        int n = x.length();
        MemorySegment xs = x.values();
        long a = (long) t * n * 4;
        FloatVector acc0 = FloatVector.zero(FLOATS), acc1 = acc0;
        int i = 0;
        for (; i + 16 <= n; i += 16) {
            long wo = row + (long) i * weightBytes, ao = a + i * 4L;
            acc0 = weights(w, wo).fma(activations(xs, ao), acc0);
            acc1 = weights(w, wo + 8L * weightBytes).fma(activations(xs, ao + 32), acc1);
        }
        float sum = Simd256.sum(acc0.add(acc1));
        for (; i < n; i++) sum = Math.fma(weight(w, row + (long) i * weightBytes), xs.getAtIndex(ValueLayout.JAVA_FLOAT, a / 4 + i), sum);
        return sum;
    }

    @Override
    final void dot4(MemorySegment w, long row, EncodedActivations x, int t, float[] out, int outIndex, int outStride) {
        int n = x.length();
        MemorySegment xs = x.values();
        long vectorBytes = n * 4L;
        long a0 = t * vectorBytes, a1 = a0 + vectorBytes, a2 = a1 + vectorBytes, a3 = a2 + vectorBytes;
        FloatVector p0 = FloatVector.zero(FLOATS), q0 = p0, p1 = p0, q1 = p0, p2 = p0, q2 = p0, p3 = p0, q3 = p0;
        int i = 0;
        for (; i + 16 <= n; i += 16) {
            long wo = row + (long) i * weightBytes, o = i * 4L;
            FloatVector w0 = weights(w, wo), w1 = weights(w, wo + 8L * weightBytes);
            p0 = w0.fma(activations(xs, a0 + o), p0);
            q0 = w1.fma(activations(xs, a0 + o + 32), q0);
            p1 = w0.fma(activations(xs, a1 + o), p1);
            q1 = w1.fma(activations(xs, a1 + o + 32), q1);
            p2 = w0.fma(activations(xs, a2 + o), p2);
            q2 = w1.fma(activations(xs, a2 + o + 32), q2);
            p3 = w0.fma(activations(xs, a3 + o), p3);
            q3 = w1.fma(activations(xs, a3 + o + 32), q3);
        }
        float s0 = Simd256.sum(p0.add(q0)), s1 = Simd256.sum(p1.add(q1)), s2 = Simd256.sum(p2.add(q2)), s3 = Simd256.sum(p3.add(q3));
        for (; i < n; i++) {
            float wi = weight(w, row + (long) i * weightBytes);
            s0 = Math.fma(wi, xs.getAtIndex(ValueLayout.JAVA_FLOAT, a0 / 4 + i), s0);
            s1 = Math.fma(wi, xs.getAtIndex(ValueLayout.JAVA_FLOAT, a1 / 4 + i), s1);
            s2 = Math.fma(wi, xs.getAtIndex(ValueLayout.JAVA_FLOAT, a2 / 4 + i), s2);
            s3 = Math.fma(wi, xs.getAtIndex(ValueLayout.JAVA_FLOAT, a3 / 4 + i), s3);
        }
        out[outIndex] = s0;
        out[outIndex + outStride] = s1;
        out[outIndex + 2 * outStride] = s2;
        out[outIndex + 3 * outStride] = s3;
    }
}

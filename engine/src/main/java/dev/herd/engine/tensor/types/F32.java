package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import dev.herd.engine.tensor.VectorMath;
import dev.herd.engine.tensor.WeightKernel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** 32-bit float weights: plain FMA dot products against float activations. */
public final class F32 implements WeightKernel {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Override
    public GgmlType type() { return GgmlType.F32; }

    @Override
    public ActivationEncoding activationEncoding() { return ActivationEncoding.F32; }

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        MemorySegment.copy(src, LE_FLOAT, byteOffset, dst, dstOffset, count);
    }

    @Override
    public void matmul(MemorySegment w, long rowBytes, int rowStart, int rowEnd, EncodedActivations x, float[] out, int outStride) {
        int n = x.length();
        MemorySegment xs = x.values();
        long xBytes = (long) n * Float.BYTES;
        for (int r = rowStart; r < rowEnd; r++) {
            long rowOffset = r * rowBytes;
            for (int t = 0; t < x.count(); t++) {
                out[t * outStride + r] = dot(w, rowOffset, xs, t * xBytes, n);
            }
        }
    }

    /** Four independent FMA chains, then a fixed-order reduction: same result for the same inputs, always. */
    static float dot(MemorySegment a, long aOffset, MemorySegment b, long bOffset, int n) {
        int lanes = S.length();
        int i = 0;
        FloatVector acc0 = FloatVector.zero(S), acc1 = FloatVector.zero(S), acc2 = FloatVector.zero(S), acc3 = FloatVector.zero(S);
        ByteOrder le = ByteOrder.LITTLE_ENDIAN;
        for (; i + 4 * lanes <= n; i += 4 * lanes) {
            long ao = aOffset + (long) i * 4, bo = bOffset + (long) i * 4;
            acc0 = FloatVector.fromMemorySegment(S, a, ao, le).fma(FloatVector.fromMemorySegment(S, b, bo, le), acc0);
            acc1 = FloatVector.fromMemorySegment(S, a, ao + lanes * 4L, le).fma(FloatVector.fromMemorySegment(S, b, bo + lanes * 4L, le), acc1);
            acc2 = FloatVector.fromMemorySegment(S, a, ao + lanes * 8L, le).fma(FloatVector.fromMemorySegment(S, b, bo + lanes * 8L, le), acc2);
            acc3 = FloatVector.fromMemorySegment(S, a, ao + lanes * 12L, le).fma(FloatVector.fromMemorySegment(S, b, bo + lanes * 12L, le), acc3);
        }
        for (; i + lanes <= n; i += lanes) {
            acc0 = FloatVector.fromMemorySegment(S, a, aOffset + (long) i * 4, le)
                    .fma(FloatVector.fromMemorySegment(S, b, bOffset + (long) i * 4, le), acc0);
        }
        float sum = VectorMath.sumLanes(acc0.add(acc1).add(acc2.add(acc3)));
        for (; i < n; i++) {
            sum = Math.fma(a.get(LE_FLOAT, aOffset + (long) i * 4), b.get(LE_FLOAT, bOffset + (long) i * 4), sum);
        }
        return sum;
    }
}

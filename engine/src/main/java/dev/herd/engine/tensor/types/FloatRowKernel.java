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
 * Weights stored as floats of some width (F32, F16, BF16) against float activations, both sides
 * exact floats: two FMA chains of eight lanes over 16
 * values at a time, a fixed butterfly sum, then the leftover values one by one. A single vector
 * widens the weights in registers ({@code dot1}); a batch widens each row once into floats
 * ({@code decodeRow}). Each type writes its own loops: a shared loop calling per-type vector code
 * would stop being inlined once two float types are in use.
 */
abstract sealed class FloatRowKernel extends RowKernel permits F32, F16, BF16 {

    private final int weightBytes;

    FloatRowKernel(GgmlType type, ActivationEncoding encoding, int weightBytes) {
        super(type, encoding);
        this.weightBytes = weightBytes;
    }

    /** One weight at byte {@code offset}, as a float. */
    abstract float weight(MemorySegment w, long offset);

    @Override
    public void dequantize(MemorySegment src, long byteOffset, float[] dst, int dstOffset, int count) {
        for (int i = 0; i < count; i++) dst[dstOffset + i] = weight(src, byteOffset + (long) i * weightBytes);
    }

    @Override
    final long decodedBytes(int n) { return n * 4L; }

    /** Continues {@code sum} with the leftover values {@code from..n} of the row at {@code row}, one FMA each. */
    final float tail(float sum, MemorySegment w, long row, int from, int n, MemorySegment xs) {
        for (int i = from; i < n; i++) sum = Math.fma(weight(w, row + (long) i * weightBytes), xs.getAtIndex(ValueLayout.JAVA_FLOAT, i), sum);
        return sum;
    }

    /** Widens the leftover values {@code from..n} of a row one by one. */
    final void decodeTail(MemorySegment w, long row, int from, int n, MemorySegment dst) {
        for (int i = from; i < n; i++) dst.setAtIndex(ValueLayout.JAVA_FLOAT, i, weight(w, row + (long) i * weightBytes));
    }

    @Override
    final float dotDecoded(MemorySegment decoded, EncodedActivations x, int t) {
        int n = x.length();
        MemorySegment xs = x.values();
        long a = (long) t * n * 4;
        FloatVector acc0 = FloatVector.zero(FLOATS), acc1 = acc0;
        int i = 0;
        for (; i + 16 <= n; i += 16) {
            long o = i * 4L;
            acc0 = activations(decoded, o).fma(activations(xs, a + o), acc0);
            acc1 = activations(decoded, o + 32).fma(activations(xs, a + o + 32), acc1);
        }
        float sum = Simd256.sum(acc0.add(acc1));
        for (; i < n; i++) {
            sum = Math.fma(decoded.getAtIndex(ValueLayout.JAVA_FLOAT, i), xs.getAtIndex(ValueLayout.JAVA_FLOAT, a / 4 + i), sum);
        }
        return sum;
    }
}

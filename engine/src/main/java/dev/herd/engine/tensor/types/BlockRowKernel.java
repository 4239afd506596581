package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.herd.engine.tensor.types.Simd256.FLOATS;
import static dev.herd.engine.tensor.types.Simd256.SWAP1;
import static dev.herd.engine.tensor.types.Simd256.SWAP2;
import static dev.herd.engine.tensor.types.Simd256.SWAP4;
import static dev.herd.engine.tensor.types.Simd256.accumulate;
import static dev.herd.engine.tensor.types.Simd256.block;
import static dev.herd.engine.tensor.types.Simd256.decodedBlock;
import static dev.herd.engine.tensor.types.Simd256.quants;

/**
 * Types with 32-value blocks and one half-precision scale (and maybe a minimum) per block, against
 * Q8_0/Q8_1 activations, as llama.cpp's {@code ggml_vec_dot_q*_q8_*}: per block the exact integer
 * products summed in eight int lanes (lane i: values 2i, 2i+1, 16+2i, 17+2i), converted to float and
 * accumulated with {@code fma(lanes, d_w·d_x, acc)}; at the end a fixed butterfly sum, plus
 * {@code Σ m_w·s_x} for types with a minimum.
 *
 * <p>Decoded row: the n quants as int16 (offsets applied), then the block scales, then the block
 * minimums (if any), as floats.
 */
abstract class BlockRowKernel extends RowKernel {

    private final boolean hasMins;

    BlockRowKernel(GgmlType type, ActivationEncoding encoding, boolean hasMins) {
        super(type, encoding);
        this.hasMins = hasMins;
    }

    @Override
    final long decodedBytes(int n) {
        return n * 2L + (n / 32) * 8L;
    }

    /** Stores block {@code b}'s scale and minimum into a decoded row of {@code n} values (quants go at byte 64b). */
    static void storeScales(MemorySegment dst, int n, int b, float d, float m) {
        long scales = n * 2L;
        dst.set(ValueLayout.JAVA_FLOAT, scales + b * 4L, d);
        dst.set(ValueLayout.JAVA_FLOAT, scales + (n / 32) * 4L + b * 4L, m);
    }

    @Override
    final float dotDecoded(MemorySegment decoded, EncodedActivations x, int t) {
        return dot(decoded, x, t, hasMins);
    }

    @Override
    final boolean tilesRows() { return true; }

    @Override
    final void dotDecoded4(MemorySegment decoded, long stride, EncodedActivations x, int t, float[] out, int o) {
        long dots = hasMins ? dot2WithMins(decoded, 0, stride, x, t) : dot2(decoded, 0, stride, x, t);
        long dots23 = hasMins ? dot2WithMins(decoded, 2 * stride, 3 * stride, x, t) : dot2(decoded, 2 * stride, 3 * stride, x, t);
        out[o] = Float.intBitsToFloat((int) dots);
        out[o + 1] = Float.intBitsToFloat((int) (dots >>> 32));
        out[o + 2] = Float.intBitsToFloat((int) dots23);
        out[o + 3] = Float.intBitsToFloat((int) (dots23 >>> 32));
    }

    /**
     * {@link #dot} of the decoded rows at bytes {@code row0} and {@code row1} (no minimums) with
     * vector {@code t}, whose quants are loaded once: the results' bits, the first row's low.
     * (Two rows, not four: four accumulator chains in one method exceed what the JIT inlines.)
     */
    private static long dot2(MemorySegment decoded, long row0, long row1, EncodedActivations x, int t) {
        int n = x.length(), blocks = n / 32;
        MemorySegment q = x.values(), s = x.scales();
        long a = (long) t * n * 2, sa = (long) t * blocks, scales = n * 2L;
        FloatVector acc0 = FloatVector.zero(FLOATS), acc1 = acc0;
        for (int b = 0; b < blocks; b++) {
            ShortVector lo = quants(q, a + b * 64L), hi = quants(q, a + b * 64L + 32);
            float dx = s.getAtIndex(ValueLayout.JAVA_FLOAT, sa + b);
            long wb = b * 64L, sb = scales + b * 4L;
            acc0 = accumulate(acc0, decodedBlock(decoded, row0 + wb, lo, hi), decoded.get(ValueLayout.JAVA_FLOAT, row0 + sb) * dx);
            acc1 = accumulate(acc1, decodedBlock(decoded, row1 + wb, lo, hi), decoded.get(ValueLayout.JAVA_FLOAT, row1 + sb) * dx);
        }
        // Simd256.sum's butterfly written out: the same helper called twice in a row is not
        // inlined the second time, and its vector argument gets boxed
        FloatVector h0 = acc0.add(acc0.rearrange(SWAP4)), h1 = acc1.add(acc1.rearrange(SWAP4));
        h0 = h0.add(h0.rearrange(SWAP2));
        h1 = h1.add(h1.rearrange(SWAP2));
        return bits(h0.add(h0.rearrange(SWAP1)).lane(0), h1.add(h1.rearrange(SWAP1)).lane(0));
    }

    /** {@link #dot2} for types with minimums. */
    private static long dot2WithMins(MemorySegment decoded, long row0, long row1, EncodedActivations x, int t) {
        int n = x.length(), blocks = n / 32;
        MemorySegment q = x.values(), s = x.scales(), sums = x.sums();
        long a = (long) t * n * 2, sa = (long) t * blocks, scales = n * 2L, mins = scales + blocks * 4L;
        FloatVector acc0 = FloatVector.zero(FLOATS), acc1 = acc0;
        float m0 = 0f, m1 = 0f;
        for (int b = 0; b < blocks; b++) {
            ShortVector lo = quants(q, a + b * 64L), hi = quants(q, a + b * 64L + 32);
            float dx = s.getAtIndex(ValueLayout.JAVA_FLOAT, sa + b), sx = sums.getAtIndex(ValueLayout.JAVA_FLOAT, sa + b);
            long wb = b * 64L, sb = scales + b * 4L, mb = mins + b * 4L;
            acc0 = accumulate(acc0, decodedBlock(decoded, row0 + wb, lo, hi), decoded.get(ValueLayout.JAVA_FLOAT, row0 + sb) * dx);
            acc1 = accumulate(acc1, decodedBlock(decoded, row1 + wb, lo, hi), decoded.get(ValueLayout.JAVA_FLOAT, row1 + sb) * dx);
            m0 += decoded.get(ValueLayout.JAVA_FLOAT, row0 + mb) * sx;
            m1 += decoded.get(ValueLayout.JAVA_FLOAT, row1 + mb) * sx;
        }
        FloatVector h0 = acc0.add(acc0.rearrange(SWAP4)), h1 = acc1.add(acc1.rearrange(SWAP4));
        h0 = h0.add(h0.rearrange(SWAP2));
        h1 = h1.add(h1.rearrange(SWAP2));
        return bits(h0.add(h0.rearrange(SWAP1)).lane(0) + m0, h1.add(h1.rearrange(SWAP1)).lane(0) + m1);
    }

    /** Two floats' bits in one long, {@code first} in the low half. */
    static long bits(float first, float second) {
        return (Float.floatToRawIntBits(first) & 0xFFFFFFFFL) | ((long) Float.floatToRawIntBits(second) << 32);
    }

    private static float dot(MemorySegment decoded, EncodedActivations x, int t, boolean hasMins) {
        int n = x.length(), blocks = n / 32;
        MemorySegment q = x.values(), s = x.scales(), sums = x.sums();
        long a = (long) t * n * 2, sa = (long) t * blocks, scales = n * 2L, mins = scales + blocks * 4L;
        FloatVector acc = FloatVector.zero(FLOATS);
        float minSum = 0f;
        for (int b = 0; b < blocks; b++) {
            float d = decoded.get(ValueLayout.JAVA_FLOAT, scales + b * 4L) * s.getAtIndex(ValueLayout.JAVA_FLOAT, sa + b);
            acc = accumulate(acc, block(decoded, b * 64L, q, a + b * 64L), d);
            if (hasMins) minSum += decoded.get(ValueLayout.JAVA_FLOAT, mins + b * 4L) * sums.getAtIndex(ValueLayout.JAVA_FLOAT, sa + b);
        }
        return hasMins ? Simd256.sum(acc) + minSum : Simd256.sum(acc);
    }
}

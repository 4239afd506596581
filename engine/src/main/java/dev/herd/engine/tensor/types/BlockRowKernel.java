package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.herd.engine.tensor.types.Simd256.FLOATS;
import static dev.herd.engine.tensor.types.Simd256.accumulate;
import static dev.herd.engine.tensor.types.Simd256.block;

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
abstract class BlockRowKernel extends FusedRowKernel {

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

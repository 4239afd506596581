package dev.herd.engine.tensor.types;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The machine's widest integer lanes (512 bits with AVX-512, else 256) for the K-quant kernels.
 * Their results do not depend on the width: each super-block's integer dot product is reduced
 * exactly before any float arithmetic. See {@link Simd256} for why this is a separate class.
 */
final class SimdWide {
    private SimdWide() {}

    static final VectorShape SHAPE = VectorShape.preferredShape().vectorBitSize() >= 512 ? VectorShape.S_512_BIT : VectorShape.S_256_BIT;
    static final VectorSpecies<Short> SHORTS = VectorSpecies.of(short.class, SHAPE);
    static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, SHAPE);
    static final VectorSpecies<Byte> BYTES = VectorSpecies.of(byte.class, VectorShape.forBitSize(SHAPE.vectorBitSize() / 2));
    /** Values per step: 32 (AVX-512) or 16. */
    static final int LANES = SHORTS.length();
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private static final VectorMask<Integer> UPPER_HALF = VectorMask.fromLong(INTS, LANES == 32 ? 0xFF00L : 0L);

    /** {@link #LANES} unsigned bytes at {@code offset}, widened to shorts. */
    static ShortVector unsignedBytes(MemorySegment m, long offset) {
        return (ShortVector) ByteVector.fromMemorySegment(BYTES, m, offset, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
    }

    /** {@link #LANES} shorts (native order) at byte {@code offset}: activation quants or decoded weights. */
    static ShortVector shorts(MemorySegment m, long offset) {
        return ShortVector.fromMemorySegment(SHORTS, m, offset, NATIVE);
    }

    /** As {@link Simd256#pairSum}. */
    static IntVector pairSum(ShortVector products) {
        return products.reinterpretAsInts().mul(65537).lanewise(VectorOperators.ASHR, 16);
    }

    /**
     * The scale of each int lane for a step of {@link #LANES} values with one scale per 16 values
     * (each int lane holds the products of two neighbouring values): {@code lower} for the step's
     * first 16 values, {@code upper} for the next 16 (unused with 16 lanes).
     */
    static IntVector scalesPer16(int lower, int upper) {
        return LANES == 32 ? IntVector.broadcast(INTS, lower).blend(upper, UPPER_HALF) : IntVector.broadcast(INTS, lower);
    }

    /** {@link #scalesPer16(int, int)} for the step starting at value {@code first}; reads {@code scales[first / 16 + 1]}. */
    static IntVector scalesPer16(int[] scales, int first) {
        return scalesPer16(scales[first >> 4], scales[(first >> 4) + 1]);
    }

    /** {@code acc + scale · pairSum(w · activation quants at byte a)}: one sub-block with one scale. */
    static IntVector scaledDot(IntVector acc, ShortVector w, MemorySegment q, long a, int scale) {
        return acc.add(pairSum(w.mul(shorts(q, a))).mul(scale));
    }

    /** As {@link #scaledDot(IntVector, ShortVector, MemorySegment, long, int)} with a scale per int lane. */
    static IntVector scaledDot(IntVector acc, ShortVector w, MemorySegment q, long a, IntVector scales) {
        return acc.add(pairSum(w.mul(shorts(q, a))).mul(scales));
    }

    /** Exact sum of the lanes. */
    static int sum(IntVector v) {
        return v.reduceLanes(VectorOperators.ADD);
    }
}

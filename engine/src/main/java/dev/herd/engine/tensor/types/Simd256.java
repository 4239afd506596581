package dev.herd.engine.tensor.types;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * 256-bit lanes for the kernels whose float accumulators keep one lane per group of products
 * (32-value blocks, F32/F16/BF16): fixing the width keeps their results the same on AVX2 and
 * AVX-512 machines, and for 16-bit integer work 256 bits is as fast as 512 on Zen 4.
 * A separate class from {@link SimdWide} on purpose: a helper fed two vector shapes stops being
 * intrinsified for either.
 */
final class Simd256 {
    private Simd256() {}

    static final VectorSpecies<Byte> BYTES = ByteVector.SPECIES_128;
    static final VectorSpecies<Short> SHORTS = ShortVector.SPECIES_256;
    static final VectorSpecies<Integer> INTS = IntVector.SPECIES_256;
    static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_256;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private static final VectorShuffle<Float> SWAP4 = VectorShuffle.fromOp(FLOATS, i -> i ^ 4);
    private static final VectorShuffle<Float> SWAP2 = VectorShuffle.fromOp(FLOATS, i -> i ^ 2);
    private static final VectorShuffle<Float> SWAP1 = VectorShuffle.fromOp(FLOATS, i -> i ^ 1);

    /** 16 signed bytes at {@code offset}, widened to shorts. */
    static ShortVector signedBytes(MemorySegment m, long offset) {
        return (ShortVector) ByteVector.fromMemorySegment(BYTES, m, offset, LE).convertShape(VectorOperators.B2S, SHORTS, 0);
    }

    /** 16 unsigned bytes at {@code offset}, widened to shorts. */
    static ShortVector unsignedBytes(MemorySegment m, long offset) {
        return (ShortVector) ByteVector.fromMemorySegment(BYTES, m, offset, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
    }

    /** 16 activation quants (int16, native order) at byte {@code offset}. */
    static ShortVector quants(MemorySegment m, long offset) {
        return ShortVector.fromMemorySegment(SHORTS, m, offset, NATIVE);
    }

    private static final VectorSpecies<Short> HALVES = ShortVector.SPECIES_128;

    /** Eight IEEE halves at {@code offset}, exactly as floats (subnormals, infinities and NaNs included). */
    static FloatVector halves(MemorySegment m, long offset) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(HALVES, m, offset, LE).convertShape(VectorOperators.S2I, INTS, 0);
        // sign to bit 31, exponent and mantissa to a float's positions; ×2^112 rebiases the exponent exactly
        IntVector bits = h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8FFFE000);
        FloatVector f = bits.reinterpretAsFloats().mul(0x1p112f);
        VectorMask<Integer> infOrNan = bits.and(0x0F800000).compare(VectorOperators.EQ, 0x0F800000);
        return f.blend(bits.or(0x7F800000).reinterpretAsFloats(), infOrNan.cast(FLOATS));
    }

    /** Eight bfloat16 values at {@code offset} as floats. */
    static FloatVector bf16s(MemorySegment m, long offset) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(HALVES, m, offset, LE).convertShape(VectorOperators.S2I, INTS, 0);
        return h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** Eight little-endian floats at {@code offset}. */
    static FloatVector floats(MemorySegment m, long offset) {
        return FloatVector.fromMemorySegment(FLOATS, m, offset, LE);
    }

    /** Eight activation floats (native order) at byte {@code offset}. */
    static FloatVector activations(MemorySegment m, long offset) {
        return FloatVector.fromMemorySegment(FLOATS, m, offset, NATIVE);
    }

    /** Lane j: 1 << (15 − j), which moves bit j of a broadcast value to the sign bit. */
    private static final ShortVector BIT_TO_TOP;

    static {
        short[] m = new short[SHORTS.length()];
        for (int j = 0; j < m.length; j++) m[j] = (short) (1 << (15 - j));
        BIT_TO_TOP = ShortVector.fromArray(SHORTS, m, 0);
    }

    /** Lane j: 16 if bit j of {@code bits} is set, else 0 (the fifth bit of Q5 quants). */
    static ShortVector fifthBits(int bits) {
        return ShortVector.broadcast(SHORTS, (short) bits).mul(BIT_TO_TOP).lanewise(VectorOperators.ASHR, 15).and((short) 16);
    }

    /**
     * Adds neighbouring 16-bit lanes into 32-bit lanes: {@code (x * 65537) >> 16} on each int
     * leaves {@code hi + lo} in the upper half. Exact while {@code |hi + lo| < 32768}, which the
     * callers guarantee (|activation quant| ≤ 127).
     */
    static IntVector pairSum(ShortVector products) {
        return products.reinterpretAsInts().mul(65537).lanewise(VectorOperators.ASHR, 16);
    }

    /**
     * One 32-value block: {@code lo} (values 0-15) and {@code hi} (values 16-31) times the
     * activation quants at byte {@code a}, the pair sums scaled by {@code d} into {@code acc}.
     * Needs |weight quant| ≤ 64 so that four products fit a 16-bit pair sum.
     */
    static FloatVector smallBlock(FloatVector acc, ShortVector lo, ShortVector hi, MemorySegment q, long a, float d) {
        IntVector p = pairSum(lo.mul(quants(q, a)).add(hi.mul(quants(q, a + 32))));
        return ((FloatVector) p.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(FLOATS, d), acc);
    }

    /** Sum of the lanes in a fixed butterfly order (reduceLanes leaves the float order unspecified). */
    static float sum(FloatVector v) {
        v = v.add(v.rearrange(SWAP4));
        v = v.add(v.rearrange(SWAP2));
        v = v.add(v.rearrange(SWAP1));
        return v.lane(0);
    }
}

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
 *
 * <p>Two rules for every helper here and in {@link SimdWide}, learnt the hard way: a vector that
 * crosses a call the JIT does not inline becomes a heap object, so helpers taking or returning
 * vectors stay under 35 bytes of bytecode (inlined whatever the profile says); and a helper fed two
 * vector shapes stops being intrinsified for either, hence two classes.
 */
final class Simd256 {
    private Simd256() {}

    static final VectorSpecies<Byte> BYTES = ByteVector.SPECIES_128;
    static final VectorSpecies<Short> SHORTS = ShortVector.SPECIES_256;
    static final VectorSpecies<Short> HALVES = ShortVector.SPECIES_128;
    static final VectorSpecies<Integer> INTS = IntVector.SPECIES_256;
    static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_256;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    static final VectorShuffle<Float> SWAP4 = VectorShuffle.fromOp(FLOATS, i -> i ^ 4);
    static final VectorShuffle<Float> SWAP2 = VectorShuffle.fromOp(FLOATS, i -> i ^ 2);
    static final VectorShuffle<Float> SWAP1 = VectorShuffle.fromOp(FLOATS, i -> i ^ 1);
    private static final VectorShuffle<Integer> INT_SWAP4 = VectorShuffle.fromOp(INTS, i -> i ^ 4);
    private static final VectorShuffle<Integer> INT_SWAP2 = VectorShuffle.fromOp(INTS, i -> i ^ 2);
    private static final VectorShuffle<Integer> INT_SWAP1 = VectorShuffle.fromOp(INTS, i -> i ^ 1);

    /** Lane j: 1 << (15 − j), which moves bit j of a broadcast value to the sign bit. */
    private static final ShortVector BIT_TO_TOP;

    static {
        short[] m = new short[SHORTS.length()];
        for (int j = 0; j < m.length; j++) m[j] = (short) (1 << (15 - j));
        BIT_TO_TOP = ShortVector.fromArray(SHORTS, m, 0);
    }

    /** 16 signed bytes at {@code offset}, widened to shorts. */
    static ShortVector signedBytes(MemorySegment m, long offset) {
        return (ShortVector) ByteVector.fromMemorySegment(BYTES, m, offset, LE).convertShape(VectorOperators.B2S, SHORTS, 0);
    }

    /** 16 unsigned bytes at {@code offset}, widened to shorts. */
    static ShortVector unsignedBytes(MemorySegment m, long offset) {
        return (ShortVector) ByteVector.fromMemorySegment(BYTES, m, offset, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0);
    }

    /** 16 shorts (native order) at byte {@code offset}: activation quants or decoded weights. */
    static ShortVector quants(MemorySegment m, long offset) {
        return ShortVector.fromMemorySegment(SHORTS, m, offset, NATIVE);
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
     * Int lane i of a 32-value block whose quants are small (|q| ≤ 64): {@code lo} holds values
     * 0-15, {@code hi} 16-31; lane i sums the products of values 2i, 2i+1, 16+2i, 17+2i with the
     * activation quants at byte {@code a}. Four products fit a 16-bit pair sum.
     */
    static IntVector smallBlock(ShortVector lo, ShortVector hi, MemorySegment q, long a) {
        return pairSum(lo.mul(quants(q, a)).add(hi.mul(quants(q, a + 32))));
    }

    /** As {@link #smallBlock} with the quants at byte {@code w} of a decoded row (any int8 range). */
    static IntVector block(MemorySegment decoded, long w, MemorySegment q, long a) {
        return pairSum(products(decoded, w, q, a)).add(pairSum(products(decoded, w + 32, q, a + 32)));
    }

    /** As {@link #block} with the block's 32 activation quants already loaded ({@code lo}: 0-15, {@code hi}: 16-31). */
    static IntVector decodedBlock(MemorySegment decoded, long w, ShortVector lo, ShortVector hi) {
        return pairSum(quants(decoded, w).mul(lo)).add(pairSum(quants(decoded, w + 32).mul(hi)));
    }

    /** Sixteen products of shorts at byte {@code w} of {@code m} and at byte {@code a} of {@code q}. */
    static ShortVector products(MemorySegment m, long w, MemorySegment q, long a) {
        return quants(m, w).mul(quants(q, a));
    }

    /** {@code acc + float(lanes)·d}, fused, lane by lane. */
    static FloatVector accumulate(FloatVector acc, IntVector lanes, float d) {
        return ((FloatVector) lanes.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(FLOATS, d), acc);
    }

    /** Exact sum of eight int lanes, as a butterfly ({@code reduceLanes} here was not intrinsified and boxed the vector). */
    static int sumInts(IntVector v) {
        IntVector h = v.add(v.rearrange(INT_SWAP4));
        h = h.add(h.rearrange(INT_SWAP2));
        return h.add(h.rearrange(INT_SWAP1)).lane(0);
    }

    /** Sum of the lanes in a fixed butterfly order (reduceLanes leaves the float order unspecified). */
    static float sum(FloatVector v) {
        return sum4(v.add(v.rearrange(SWAP4)));
    }

    private static float sum4(FloatVector v) {
        FloatVector s = v.add(v.rearrange(SWAP2));
        return s.add(s.rearrange(SWAP1)).lane(0);
    }

    /** Eight IEEE halves at {@code offset}, exactly as floats (subnormals, infinities and NaNs included). */
    static FloatVector halves(MemorySegment m, long offset) {
        return halfBitsToFloats(halfBits(m, offset));
    }

    /** Sign to bit 31, exponent and mantissa to a float's positions (exponent still biased by 15). */
    private static IntVector halfBits(MemorySegment m, long offset) {
        return words(m, offset).lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8FFFE000);
    }

    /** ×2^112 rebiases the exponent exactly (subnormal halves included); exponent 31 becomes 255. */
    private static FloatVector halfBitsToFloats(IntVector bits) {
        return bits.reinterpretAsFloats().mul(0x1p112f).blend(bits.or(0x7F800000).reinterpretAsFloats(), infOrNan(bits));
    }

    private static VectorMask<Float> infOrNan(IntVector halfBits) {
        return halfBits.and(0x0F800000).compare(VectorOperators.EQ, 0x0F800000).cast(FLOATS);
    }

    /** Eight 16-bit words at {@code offset}, sign-extended to ints. */
    private static IntVector words(MemorySegment m, long offset) {
        return (IntVector) ShortVector.fromMemorySegment(HALVES, m, offset, LE).convertShape(VectorOperators.S2I, INTS, 0);
    }

    /** Eight bfloat16 values at {@code offset} as floats. */
    static FloatVector bf16s(MemorySegment m, long offset) {
        return words(m, offset).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** Eight little-endian floats at {@code offset}. */
    static FloatVector floats(MemorySegment m, long offset) {
        return FloatVector.fromMemorySegment(FLOATS, m, offset, LE);
    }

    /** Eight floats (native order) at byte {@code offset}: activations or a decoded row. */
    static FloatVector activations(MemorySegment m, long offset) {
        return FloatVector.fromMemorySegment(FLOATS, m, offset, NATIVE);
    }
}

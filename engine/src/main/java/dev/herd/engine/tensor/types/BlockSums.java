package dev.herd.engine.tensor.types;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The minimum terms of the K-quants, {@code Σ min · (sum of the activation quants it covers)},
 * from the sixteen 16-value sums Q8_K keeps per super-block: a handful of vector operations instead
 * of sixteen scalar loads. Fixed 256-bit shapes, used nowhere else (see {@link Simd256}).
 */
final class BlockSums {
    private BlockSums() {}

    private static final VectorSpecies<Short> SHORTS = ShortVector.SPECIES_256;
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_256;
    private static final VectorSpecies<Long> LONGS = LongVector.SPECIES_128;
    private static final VectorSpecies<Byte> BYTES = ByteVector.SPECIES_128;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    /**
     * Σ_j min_j · (bsum[2j] + bsum[2j+1]) for eight 32-value sub-blocks, {@code min_j} being byte j
     * of {@code packedMins}; the sixteen sums start at byte {@code at} of {@code bsums}.
     */
    static int per32(MemorySegment bsums, long at, long packedMins) {
        return Simd256.pairSum(ShortVector.fromMemorySegment(SHORTS, bsums, at, NATIVE)).mul(bytes(packedMins)).reduceLanes(VectorOperators.ADD);
    }

    /** The eight bytes of {@code packed} as int lanes. */
    private static IntVector bytes(long packed) {
        return (IntVector) LongVector.broadcast(LONGS, packed).reinterpretAsBytes().convertShape(VectorOperators.ZERO_EXTEND_B2I, INTS, 0);
    }

    /**
     * Σ_i min_i · bsum[i] for sixteen 16-value groups, {@code min_i} being the high nibble of byte i
     * at {@code minsAt} of {@code w} (Q2_K's scale bytes); the sums start at byte {@code at}.
     */
    static int per16(MemorySegment bsums, long at, MemorySegment w, long minsAt) {
        ShortVector mins = ((ShortVector) ByteVector.fromMemorySegment(BYTES, w, minsAt, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.ZERO_EXTEND_B2S, SHORTS, 0)).lanewise(VectorOperators.LSHR, 4);
        return exactPairSum(mins.mul(ShortVector.fromMemorySegment(SHORTS, bsums, at, NATIVE))).reduceLanes(VectorOperators.ADD);
    }

    /** Neighbouring 16-bit lanes added into ints, each sign-extended first: exact for any values. */
    private static IntVector exactPairSum(ShortVector v) {
        IntVector i = v.reinterpretAsInts();
        return i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.ASHR, 16));
    }
}

package dev.herd.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/**
 * Random weight matrices of any supported type, written block by block: random bytes for the
 * quants and scale bits, random (finite) halves for the block's float fields. Also knows where
 * those fields sit, so a test can split a value into its scale part and its min part.
 */
public final class RandomWeights {
    private RandomWeights() {}

    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Byte offsets, within a block, of the half-precision scale(s) multiplying the quants. */
    static int[] scaleFields(GgmlType type) {
        return switch (type) {
            case Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K -> new int[]{0};
            case Q2_K -> new int[]{80};
            case Q3_K -> new int[]{108};
            case Q6_K -> new int[]{208};
            default -> new int[0];
        };
    }

    /** Byte offsets of the half-precision minimum (offset) fields, if the type has one. */
    static int[] minFields(GgmlType type) {
        return switch (type) {
            case Q4_1, Q5_1, Q4_K, Q5_K -> new int[]{2};
            case Q2_K -> new int[]{82};
            default -> new int[0];
        };
    }

    /** A {@code rows × n} matrix of {@code type} in a fresh native segment. */
    public static MemorySegment matrix(GgmlType type, int rows, int n, Random rnd) {
        long rowBytes = type.rowBytes(n);
        MemorySegment m = Arena.ofAuto().allocate(rowBytes * rows, 64);
        switch (type) {
            case F32 -> {
                for (long i = 0; i < (long) rows * n; i++) m.set(LE_FLOAT, i * 4, gaussian(rnd));
            }
            case F16 -> {
                for (long i = 0; i < (long) rows * n; i++) m.set(LE_SHORT, i * 2, Float.floatToFloat16(gaussian(rnd)));
            }
            case BF16 -> {
                for (long i = 0; i < (long) rows * n; i++) m.set(LE_SHORT, i * 2, Float16s.toBf16(gaussian(rnd)));
            }
            default -> {
                byte[] bytes = new byte[(int) (rowBytes * rows)];
                rnd.nextBytes(bytes);
                MemorySegment.copy(bytes, 0, m, ValueLayout.JAVA_BYTE, 0, bytes.length);
                long blocks = rowBytes * rows / type.blockBytes();
                for (long b = 0; b < blocks; b++) {
                    for (int f : scaleFields(type)) m.set(LE_SHORT, b * type.blockBytes() + f, randomHalf(rnd));
                    for (int f : minFields(type)) m.set(LE_SHORT, b * type.blockBytes() + f, randomHalf(rnd));
                }
            }
        }
        return m;
    }

    /** A copy of {@code m} with every listed half field set to zero. */
    static MemorySegment withZeroedFields(MemorySegment m, GgmlType type, int[] fields) {
        MemorySegment copy = Arena.ofAuto().allocate(m.byteSize(), 64).copyFrom(m);
        for (long b = 0; b < m.byteSize() / type.blockBytes(); b++) {
            for (int f : fields) copy.set(LE_SHORT, b * type.blockBytes() + f, (short) 0);
        }
        return copy;
    }

    /** A magnitude in [2^-12, 2^-4) with a random sign, as half bits. */
    private static short randomHalf(Random rnd) {
        float v = (float) Math.scalb(1 + rnd.nextDouble(), -12 + rnd.nextInt(8));
        return Float.floatToFloat16(rnd.nextBoolean() ? v : -v);
    }

    private static float gaussian(Random rnd) {
        return (float) rnd.nextGaussian();
    }

    /** Activation-like values: mostly normal, a few large outliers, occasionally an all-zero stretch. */
    public static float[] activations(int n, Random rnd) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextGaussian() * (rnd.nextInt(50) == 0 ? 30 : 1));
        if (n >= 64 && rnd.nextBoolean()) java.util.Arrays.fill(x, 32, 64, 0f);
        return x;
    }
}

package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import dev.herd.engine.tensor.WeightKernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The matmul loop shared by every weight type. A single vector (token generation, the common
 * case) goes through {@link #dot1}, which decodes each block in registers as it multiplies. A batch
 * streams each row once: the row is decoded into a scratch buffer ({@link #decodeRow}) and every
 * vector is multiplied with that ({@link #dotDecoded}). Both paths must give a vector the same
 * integer lanes and the same float operations in the same order, so that a result never depends on
 * the batch it came in; the tests check it.
 */
abstract class RowKernel implements WeightKernel {

    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final GgmlType type;
    private final ActivationEncoding encoding;

    RowKernel(GgmlType type, ActivationEncoding encoding) {
        this.type = type;
        this.encoding = encoding;
    }

    @Override
    public final GgmlType type() { return type; }

    @Override
    public final ActivationEncoding activationEncoding() { return encoding; }

    @Override
    public final void matmul(MemorySegment w, long rowBytes, int rowStart, int rowEnd, EncodedActivations x, float[] out, int outStride) {
        if (x.encoding() != encoding) {
            throw new IllegalArgumentException(type + " weights need " + encoding + " activations, got " + x.encoding());
        }
        int n = x.length();
        if (rowBytes != type.rowBytes(n)) {
            throw new IllegalArgumentException(type + " rows of " + n + " values take " + type.rowBytes(n)
                    + " bytes, but the row stride is " + rowBytes);
        }
        if (rowStart < 0 || rowEnd < rowStart || rowEnd * rowBytes > w.byteSize()) {
            throw new IndexOutOfBoundsException("rows [" + rowStart + ", " + rowEnd + ") of " + rowBytes + " bytes do not fit a "
                    + w.byteSize() + "-byte " + type + " matrix");
        }
        int count = x.count();
        if (count == 0 || rowEnd == rowStart) return;
        if ((long) (count - 1) * outStride + rowEnd > out.length) {
            throw new IndexOutOfBoundsException(count + " vectors × rows up to " + rowEnd + " with stride " + outStride
                    + " do not fit an output of " + out.length);
        }
        if (count == 1) {
            multiplySingle(w, rowBytes, rowStart, rowEnd, x, out);
        } else {
            multiplyDecoded(w, rowBytes, rowStart, rowEnd, x, out, outStride);
        }
    }

    private void multiplySingle(MemorySegment w, long rowBytes, int rowStart, int rowEnd, EncodedActivations x, float[] out) {
        int[] scratch = new int[32];
        for (int r = rowStart; r < rowEnd; r++) out[r] = dot1(w, r * rowBytes, x, scratch);
    }

    private void multiplyDecoded(MemorySegment w, long rowBytes, int rowStart, int rowEnd, EncodedActivations x, float[] out, int outStride) {
        int n = x.length(), count = x.count();
        MemorySegment decoded = scratch(decodedBytes(n));
        for (int r = rowStart; r < rowEnd; r++) {
            decodeRow(w, r * rowBytes, n, decoded);
            for (int t = 0; t < count; t++) out[t * outStride + r] = dotDecoded(decoded, x, t);
        }
    }

    /**
     * Each thread's decoded-row buffer, reused across calls: native (the vector loads must only
     * ever see native segments, or they stop being intrinsified) and from an automatic arena (a
     * confined one checks the owning thread on every access, which costs the batched K-quant dot
     * a fifth of its speed).
     */
    private static final ThreadLocal<MemorySegment> SCRATCH = ThreadLocal.withInitial(() -> MemorySegment.NULL);

    private static MemorySegment scratch(long bytes) {
        MemorySegment s = SCRATCH.get();
        if (s.byteSize() < bytes) {
            s = Arena.ofAuto().allocate(Math.max(bytes, 2 * s.byteSize()), 64);
            SCRATCH.set(s);
        }
        return s;
    }

    /** Dot product of the row at byte {@code row} with the only vector of {@code x}; {@code scratch} holds 32 ints. */
    abstract float dot1(MemorySegment w, long row, EncodedActivations x, int[] scratch);

    /** Bytes {@link #decodeRow} needs for a row of {@code n} values. */
    abstract long decodedBytes(int n);

    /** Decodes the {@code n}-value row at byte {@code row} into {@code dst}. */
    abstract void decodeRow(MemorySegment w, long row, int n, MemorySegment dst);

    /** Dot product of a decoded row with vector {@code t}. */
    abstract float dotDecoded(MemorySegment decoded, EncodedActivations x, int t);

    static float f16(MemorySegment m, long offset) {
        return Float.float16ToFloat(m.get(LE_SHORT, offset));
    }

    static int u8(MemorySegment m, long offset) {
        return Byte.toUnsignedInt(m.get(ValueLayout.JAVA_BYTE, offset));
    }

    static void checkBlocks(GgmlType type, int count) {
        if (count % type.blockSize() != 0) {
            throw new IllegalArgumentException(type + " decodes whole blocks of " + type.blockSize() + " values, asked for " + count);
        }
    }
}

package dev.herd.engine.tensor.types;

import dev.herd.engine.tensor.ActivationEncoding;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.GgmlType;
import dev.herd.engine.tensor.WeightKernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The matmul loop shared by every weight type: rows one at a time, and for each row the batch in
 * tiles of four vectors ({@link #dot4}: each weight block decoded once, then multiplied with four
 * vectors) and the rest one by one ({@link #dot1}). Both compute each vector's dot product with the
 * same operations in the same order, so a result never depends on the batch it came in.
 */
abstract class RowKernel implements WeightKernel {

    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
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
        if (rowBytes != type.rowBytes(x.length())) {
            throw new IllegalArgumentException(type + " rows of " + x.length() + " values take " + type.rowBytes(x.length())
                    + " bytes, but the row stride is " + rowBytes);
        }
        if (rowStart < 0 || rowEnd < rowStart || rowEnd * rowBytes > w.byteSize()) {
            throw new IndexOutOfBoundsException("rows [" + rowStart + ", " + rowEnd + ") of " + rowBytes + " bytes do not fit a "
                    + w.byteSize() + "-byte " + type + " matrix");
        }
        int count = x.count();
        if (count > 0 && rowEnd > rowStart && (long) (count - 1) * outStride + rowEnd > out.length) {
            throw new IndexOutOfBoundsException(count + " vectors × rows up to " + rowEnd + " with stride " + outStride
                    + " do not fit an output of " + out.length);
        }
        for (int r = rowStart; r < rowEnd; r++) {
            long row = r * rowBytes;
            int t = 0;
            for (; t + 4 <= count; t += 4) dot4(w, row, x, t, out, t * outStride + r, outStride);
            for (; t < count; t++) out[t * outStride + r] = dot1(w, row, x, t);
        }
    }

    /** Dot product of the row at byte {@code row} with vector {@code t}. */
    abstract float dot1(MemorySegment w, long row, EncodedActivations x, int t);

    /** Dot products of the row with vectors {@code t..t+3}, into {@code out[outIndex + k * outStride]}. */
    abstract void dot4(MemorySegment w, long row, EncodedActivations x, int t, float[] out, int outIndex, int outStride);

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

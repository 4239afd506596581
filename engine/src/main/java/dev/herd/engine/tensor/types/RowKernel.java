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
 * The matmul loop shared by every weight type. A batch streams each row once: the row is decoded
 * into a scratch buffer ({@link #decodeRow}) and every vector is multiplied with that
 * ({@link #dotDecoded}). A single vector may take a fused path instead ({@link FusedRowKernel}).
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

    /** One vector: by default through the decoded row as well. */
    void multiplySingle(MemorySegment w, long rowBytes, int rowStart, int rowEnd, EncodedActivations x, float[] out) {
        multiplyDecoded(w, rowBytes, rowStart, rowEnd, x, out, 0);
    }

    private void multiplyDecoded(MemorySegment w, long rowBytes, int rowStart, int rowEnd, EncodedActivations x, float[] out, int outStride) {
        int n = x.length(), count = x.count();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment decoded = arena.allocate(decodedBytes(n), 64);
            for (int r = rowStart; r < rowEnd; r++) {
                decodeRow(w, r * rowBytes, n, decoded);
                for (int t = 0; t < count; t++) out[t * outStride + r] = dotDecoded(decoded, x, t);
            }
        }
    }

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

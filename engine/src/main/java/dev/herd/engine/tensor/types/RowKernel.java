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
        if (!checkMatmul(this, w, rowBytes, rowStart, rowEnd, x, out, outStride)) return;
        if (x.count() == 1) {
            multiplySingle(w, rowBytes, rowStart, rowEnd, x, out);
        } else {
            multiplyBatch(w, rowBytes, rowStart, rowEnd, x, out, outStride);
        }
    }

    /** A batch of two or more vectors; by default {@link #multiplyDecoded}. */
    void multiplyBatch(MemorySegment w, long rowBytes, int rowStart, int rowEnd, EncodedActivations x, float[] out, int outStride) {
        multiplyDecoded(w, rowBytes, rowStart, rowEnd, x, out, outStride);
    }

    /** Checks a {@link #matmul} call's arguments for {@code kernel}; false when there is nothing to compute. */
    static boolean checkMatmul(WeightKernel kernel, MemorySegment w, long rowBytes, int rowStart, int rowEnd, EncodedActivations x,
                               float[] out, int outStride) {
        GgmlType type = kernel.type();
        if (x.encoding() != kernel.activationEncoding()) {
            throw new IllegalArgumentException(type + " weights need " + kernel.activationEncoding() + " activations, got " + x.encoding());
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
        if (count == 0 || rowEnd == rowStart) return false;
        if ((long) (count - 1) * outStride + rowEnd > out.length) {
            throw new IndexOutOfBoundsException(count + " vectors × rows up to " + rowEnd + " with stride " + outStride
                    + " do not fit an output of " + out.length);
        }
        return true;
    }

    private void multiplySingle(MemorySegment w, long rowBytes, int rowStart, int rowEnd, EncodedActivations x, float[] out) {
        int[] scratch = new int[32];
        for (int r = rowStart; r < rowEnd; r++) out[r] = dot1(w, r * rowBytes, x, scratch);
    }

    /** Rows decoded and multiplied together in a batch: each activation load serves this many rows. */
    static final int TILE_ROWS = 4;

    final void multiplyDecoded(MemorySegment w, long rowBytes, int rowStart, int rowEnd, EncodedActivations x, float[] out, int outStride) {
        int n = x.length(), count = x.count();
        long stride = decodedStride(n);
        Scratch scratch = SCRATCH.get();
        MemorySegment[] rows = scratch.rows(stride);
        MemorySegment decoded = scratch.tile;
        int r = rowStart;
        for (; tilesRows() && r + TILE_ROWS <= rowEnd; r += TILE_ROWS) {
            for (int i = 0; i < TILE_ROWS; i++) decodeRow(w, (r + i) * rowBytes, n, rows[i]);
            for (int t = 0; t < count; t++) dotDecoded4(decoded, stride, x, t, out, t * outStride + r);
        }
        for (; r < rowEnd; r++) {
            decodeRow(w, r * rowBytes, n, decoded);
            for (int t = 0; t < count; t++) out[t * outStride + r] = dotDecoded(decoded, x, t);
        }
    }

    /** {@link #decodedBytes} rounded up to whole cache lines, so every decoded row of a tile starts 64-byte aligned. */
    final long decodedStride(int n) {
        return (decodedBytes(n) + 63) & ~63L;
    }

    /**
     * Each thread's decoded-row buffer, reused across calls: native (the vector loads must only
     * ever see native segments, or they stop being intrinsified) and from an automatic arena (a
     * confined one checks the owning thread on every access, which costs the batched K-quant dot
     * a fifth of its speed). The per-row slices are kept so a tile allocates nothing.
     */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * This thread's buffer number {@code slot} (0-3, beside the decoded-row tile), at least
     * {@code bytes} long, 64-byte aligned, reused across calls.
     */
    static MemorySegment buffer(int slot, long bytes) {
        Scratch s = SCRATCH.get();
        MemorySegment b = s.buffers[slot];
        if (b.byteSize() < bytes) {
            b = Arena.ofAuto().allocate(Math.max(bytes, 2 * b.byteSize()), 64);
            s.buffers[slot] = b;
        }
        return b;
    }

    private static final class Scratch {
        MemorySegment tile = MemorySegment.NULL;
        final MemorySegment[] rows = new MemorySegment[TILE_ROWS];
        final MemorySegment[] buffers = {MemorySegment.NULL, MemorySegment.NULL, MemorySegment.NULL, MemorySegment.NULL};
        long stride = -1;

        MemorySegment[] rows(long rowStride) {
            if (tile.byteSize() < rowStride * TILE_ROWS) {
                tile = Arena.ofAuto().allocate(Math.max(rowStride * TILE_ROWS, 2 * tile.byteSize()), 64);
                stride = -1;
            }
            if (stride != rowStride) {
                for (int i = 0; i < TILE_ROWS; i++) rows[i] = tile.asSlice(i * rowStride, rowStride);
                stride = rowStride;
            }
            return rows;
        }
    }

    /** Dot product of the row at byte {@code row} with the only vector of {@code x}; {@code scratch} holds 32 ints. */
    abstract float dot1(MemorySegment w, long row, EncodedActivations x, int[] scratch);

    /** Bytes {@link #decodeRow} needs for a row of {@code n} values. */
    abstract long decodedBytes(int n);

    /** Decodes the {@code n}-value row at byte {@code row} into {@code dst}. */
    abstract void decodeRow(MemorySegment w, long row, int n, MemorySegment dst);

    /** Dot product of a decoded row with vector {@code t}. */
    abstract float dotDecoded(MemorySegment decoded, EncodedActivations x, int t);

    /**
     * Whether batches go through {@link #dotDecoded4}: for the 32-value block types, whose dot is
     * bound by loads, sharing the activation loads between rows pays; the K-quant and float dots
     * are bound by multiplies, and four decoded rows no longer fit L1 beside the activations, so
     * tiling measured slower for them and they take one row at a time.
     */
    boolean tilesRows() { return false; }

    /**
     * The dot products of {@link #TILE_ROWS} decoded rows ({@code stride} bytes apart in
     * {@code tile}) with vector {@code t}, into {@code out[o..o+TILE_ROWS)}, each with exactly the
     * operations of {@link #dotDecoded}. Only called when {@link #tilesRows}.
     */
    void dotDecoded4(MemorySegment tile, long stride, EncodedActivations x, int t, float[] out, int o) {
        throw new UnsupportedOperationException(type() + " does not tile rows");
    }

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

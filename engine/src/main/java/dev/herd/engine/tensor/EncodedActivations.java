package dev.herd.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A batch of activation vectors encoded for one {@link ActivationEncoding}, in native memory
 * aligned to 64 bytes (heap arrays are only 16-byte aligned, which costs the SIMD kernels dearly).
 * Buffers grow on demand and are reused across steps: keep one per call site and thread.
 *
 * <p>Layout, vector {@code t} of {@code length} values:
 * <ul>
 * <li>F32: {@code values} holds floats at {@code t * length};</li>
 * <li>F16/BF16: {@code values} holds 16-bit codes at {@code t * length};</li>
 * <li>Q8_0/Q8_1/Q8_K: {@code values} holds int8 quants at {@code t * length}; {@code scales}
 * one float per block at {@code t * blocks} (for Q8_0/Q8_1 already rounded through half
 * precision, as llama.cpp stores it); {@code sums} for Q8_1 one float per block (the block's
 * {@code d * sum(q)}, half-rounded) and for Q8_K one short per 16 values.</li>
 * </ul>
 */
public final class EncodedActivations {

    private final ActivationEncoding encoding;
    private final int length;
    private int count;
    private int capacity;
    private MemorySegment values = MemorySegment.NULL;
    private MemorySegment scales = MemorySegment.NULL;
    private MemorySegment sums = MemorySegment.NULL;

    public EncodedActivations(ActivationEncoding encoding, int length) {
        if (length % encoding.blockSize() != 0) {
            throw new IllegalArgumentException(encoding + " activations need a length that is a multiple of "
                    + encoding.blockSize() + ", got " + length);
        }
        this.encoding = encoding;
        this.length = length;
    }

    public ActivationEncoding encoding() { return encoding; }

    /** Values per vector. */
    public int length() { return length; }

    /** Vectors currently encoded. */
    public int count() { return count; }

    public MemorySegment values() { return values; }

    public MemorySegment scales() { return scales; }

    public MemorySegment sums() { return sums; }

    /** Blocks per vector. */
    public int blocksPerVector() { return length / encoding.blockSize(); }

    /** Encodes {@code count} vectors of {@link #length()} floats read from {@code src} at {@code srcOffset + t * srcStride}. */
    public EncodedActivations encode(float[] src, int srcOffset, int srcStride, int count) {
        ensureCapacity(count);
        this.count = count;
        for (int t = 0; t < count; t++) {
            ActivationEncoders.encode(encoding, src, srcOffset + t * srcStride, length, this, t);
        }
        return this;
    }

    /** Encodes vectors laid out back to back. */
    public EncodedActivations encode(float[] src, int count) {
        return encode(src, 0, length, count);
    }

    /** Sizes the buffer for {@code count} vectors, to be filled by {@link #encodeVector} (possibly from several threads). */
    public void prepare(int count) {
        ensureCapacity(count);
        this.count = count;
    }

    /** Encodes one vector of {@link #length()} floats from {@code src} into slot {@code t} (after {@link #prepare}). */
    public void encodeVector(float[] src, int srcOffset, int t) {
        ActivationEncoders.encode(encoding, src, srcOffset, length, this, t);
    }

    private void ensureCapacity(int n) {
        if (n <= capacity) return;
        int cap = Math.max(n, capacity * 2);
        Arena arena = Arena.ofAuto();
        long elements = (long) cap * length;
        int blocks = cap * blocksPerVector();
        switch (encoding) {
            case F32 -> values = arena.allocate(elements * 4, 64);
            case F16, BF16 -> values = arena.allocate(elements * 2, 64);
            case Q8_0 -> {
                values = arena.allocate(elements, 64);
                scales = arena.allocate((long) blocks * 4, 64);
            }
            case Q8_1 -> {
                values = arena.allocate(elements, 64);
                scales = arena.allocate((long) blocks * 4, 64);
                sums = arena.allocate((long) blocks * 4, 64);
            }
            case Q8_K -> {
                values = arena.allocate(elements, 64);
                scales = arena.allocate((long) blocks * 4, 64);
                sums = arena.allocate(elements / 16 * 2, 64);
            }
        }
        capacity = cap;
    }

    /** Float {@code i} of vector {@code t} (F32 encoding). */
    public float f32(int t, int i) {
        return values.getAtIndex(ValueLayout.JAVA_FLOAT, (long) t * length + i);
    }
}

package dev.herd.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A batch of activation vectors encoded for one {@link ActivationEncoding}, in native memory
 * aligned to 64 bytes (heap arrays are only 16-byte aligned, which costs the SIMD kernels dearly).
 * Buffers grow on demand and are reused across steps: keep one per call site and thread.
 *
 * <p>Layout, vector {@code t} of {@code length} values (all native byte order):
 * <ul>
 * <li>F32, F16, BF16: {@code values} holds floats at {@code t * length}; for F16/BF16 each is
 * already rounded to that precision (exactly representable), so kernels skip the decoding;</li>
 * <li>Q8_0, Q8_1, Q8_K: {@code values} holds the int8 quants widened to int16 at
 * {@code t * length} (the kernels multiply in 16-bit lanes, so the widening is done once here
 * rather than once per weight row); {@code scales} holds one float per block at
 * {@code t * blocks} (for Q8_0/Q8_1 already rounded through half precision, as llama.cpp stores
 * it); {@code sums} for Q8_1 one float per block (the block's {@code d * sum(q)}, half-rounded) and
 * for Q8_K one short per 16 values (the sum of those quants) at {@code t * length / 16}; and for
 * Q8_K {@code bytes} holds the quants once more as int8 at {@code t * length} (for the native
 * kernels' 8-bit multiply-adds).</li>
 * </ul>
 * Every quant satisfies {@code |q| <= 127}.
 */
public final class EncodedActivations {

    private final ActivationEncoding encoding;
    private final int length;
    private int count;
    private int capacity;
    private MemorySegment values = MemorySegment.NULL;
    private MemorySegment scales = MemorySegment.NULL;
    private MemorySegment sums = MemorySegment.NULL;
    private MemorySegment bytes = MemorySegment.NULL;

    public EncodedActivations(ActivationEncoding encoding, int length) {
        if (length <= 0 || length % encoding.blockSize() != 0) {
            throw new IllegalArgumentException(encoding + " activations need a positive length that is a multiple of "
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

    /** The quants as int8 (Q8_K only; else {@link MemorySegment#NULL}). */
    public MemorySegment bytes() { return bytes; }

    /** Blocks per vector. */
    public int blocksPerVector() { return length / encoding.blockSize(); }

    /** Encodes {@code count} vectors of {@link #length()} floats read from {@code src} at {@code srcOffset + t * srcStride}. */
    public EncodedActivations encode(float[] src, int srcOffset, int srcStride, int count) {
        if (count < 0) throw new IllegalArgumentException("negative vector count " + count);
        if (count > 0) {
            long last = srcOffset + (long) (count - 1) * srcStride + length;
            if (srcOffset < 0 || last > src.length) {
                throw new IndexOutOfBoundsException("encoding " + count + " vectors of " + length + " from offset " + srcOffset
                        + " stride " + srcStride + " needs " + last + " floats, the source has " + src.length);
            }
        }
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
        if (t < 0 || t >= count) throw new IndexOutOfBoundsException("slot " + t + " of " + count + " prepared vectors");
        if (srcOffset < 0 || (long) srcOffset + length > src.length) {
            throw new IndexOutOfBoundsException("a vector of " + length + " from offset " + srcOffset + " does not fit a source of " + src.length);
        }
        ActivationEncoders.encode(encoding, src, srcOffset, length, this, t);
    }

    private void ensureCapacity(int n) {
        if (n <= capacity) return;
        int cap = Math.max(n, capacity * 2);
        Arena arena = Arena.ofAuto();
        long elements = (long) cap * length;
        int blocks = cap * blocksPerVector();
        switch (encoding) {
            case F32, F16, BF16 -> values = arena.allocate(elements * 4, 64);
            case Q8_0 -> {
                values = arena.allocate(elements * 2, 64);
                scales = arena.allocate((long) blocks * 4, 64);
            }
            case Q8_1 -> {
                values = arena.allocate(elements * 2, 64);
                scales = arena.allocate((long) blocks * 4, 64);
                sums = arena.allocate((long) blocks * 4, 64);
            }
            case Q8_K -> {
                values = arena.allocate(elements * 2, 64);
                bytes = arena.allocate(elements, 64);
                scales = arena.allocate((long) blocks * 4, 64);
                sums = arena.allocate(elements / 16 * 2, 64);
            }
        }
        capacity = cap;
    }

    /** Value {@code i} of vector {@code t} as the kernels see it (F32, F16 and BF16 encodings). */
    public float f32(int t, int i) {
        requireFloats();
        return values.getAtIndex(ValueLayout.JAVA_FLOAT, (long) t * length + i);
    }

    /** Quant {@code i} of vector {@code t} (Q8_0, Q8_1, Q8_K encodings). */
    public int quant(int t, int i) {
        requireQuants();
        return values.getAtIndex(ValueLayout.JAVA_SHORT, (long) t * length + i);
    }

    /** Scale of block {@code b} of vector {@code t} (Q8_0, Q8_1, Q8_K encodings). */
    public float scale(int t, int b) {
        requireQuants();
        return scales.getAtIndex(ValueLayout.JAVA_FLOAT, (long) t * blocksPerVector() + b);
    }

    private boolean isQuantised() {
        return encoding == ActivationEncoding.Q8_0 || encoding == ActivationEncoding.Q8_1 || encoding == ActivationEncoding.Q8_K;
    }

    private void requireFloats() {
        if (isQuantised()) throw new IllegalStateException(encoding + " activations hold quants, not floats");
    }

    private void requireQuants() {
        if (!isQuantised()) throw new IllegalStateException(encoding + " activations hold floats, not quants");
    }
}

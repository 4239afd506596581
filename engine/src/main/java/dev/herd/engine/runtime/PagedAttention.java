package dev.herd.engine.runtime;

import dev.herd.engine.KvCacheType;
import dev.herd.engine.tensor.HeapSegments;
import dev.herd.engine.tensor.Kernels;
import dev.herd.engine.tensor.VectorMath;
import dev.herd.engine.tensor.types.NativeKernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * {@code softmax(q·K * scale)·V} for the query heads of some kv-head groups of one row, over a range
 * of that sequence's positions in the paged {@link KvCache}, and the layout of keys and values in
 * a block's layer: keys transposed ({@code [kv head][dim][position]}, so a block's scores are vector
 * FMAs without lane reductions), values {@code [kv head][position][dim]}; each kv head's keys and
 * values in a block are one contiguous run, which is what a reader streams. Per head and position:
 * {@code score = ((c0 + c1) + (c2 + c3)) * scale}, chain {@code ck} the FMAs of {@code q[d] · K[d][p]}
 * over {@code d = k mod 4} in order (dimensions past a multiple of four join {@code c0}); weights
 * {@code expf(score - max)} ({@link VectorMath#expf}) times {@code (float) (1 / their double sum)};
 * output element {@code j} the FMAs of {@code w[p] · V[p][j]} in position order from zero. Nothing
 * depends on the other rows of the batch. In an f16 cache ({@link KvCacheType#F16}) keys and values
 * are rounded to f16 when stored ({@link Float#floatToFloat16}) and widened back exactly when read,
 * so the arithmetic is the f32 cache's.
 *
 * <p>Two implementations compute those same bits: the native kernel ({@code herd_attend} in
 * {@code libherdkernels.so}, which loads each key and value vector once for all heads of a group)
 * and the Java one here, used when the native kernels are unavailable or {@code herd.kernels=java}.
 */
public final class PagedAttention {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /** (q, qOff, group0, groups, headsPerGroup, hd, blocks, keys, values, f16, first, count, scale, scratch, out, outOff) → 0. */
    private static final FunctionDescriptor ATTEND = FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_FLOAT,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT);

    private static final ThreadLocal<float[]> SCORES = ThreadLocal.withInitial(() -> new float[1024]);
    private static final ThreadLocal<float[]> BLOCK_SCORES = ThreadLocal.withInitial(() -> new float[KvCache.BLOCK]);
    private static final ThreadLocal<long[]> BLOCK_ADDRESSES = ThreadLocal.withInitial(() -> new long[64]);
    /** The Java path's blocks of the positions attended (reused: this runs per row, head group and layer). */
    private static final ThreadLocal<MemorySegment[]> BLOCK_SEGMENTS = ThreadLocal.withInitial(() -> new MemorySegment[64]);
    /** The Java path's f32 copy of an f16 cache's runs (native memory: the vector loads need a native or byte[] segment). */
    private static final ThreadLocal<MemorySegment> WIDENED = ThreadLocal.withInitial(() -> MemorySegment.NULL);

    /** The native kernel, or null for the Java path. */
    private final MethodHandle attend;

    private PagedAttention(MethodHandle attend) {
        this.attend = attend;
    }

    /** The implementation {@code herd.kernels} selects: native where the library loaded (unless {@code java}), else Java. */
    public static PagedAttention selected() {
        if (Kernels.mode().equals("java")) return java();
        return NativeKernels.function("herd_attend", ATTEND).map(PagedAttention::new).orElseGet(PagedAttention::java);
    }

    /** The native kernel's variant for one of {@link NativeKernels#runnableIsas()} (for tests). */
    static PagedAttention nativeVariant(String isa) { return new PagedAttention(NativeKernels.function("herd_attend", isa, ATTEND)); }

    /** The Java implementation. */
    public static PagedAttention java() { return new PagedAttention(null); }

    public boolean isNative() { return attend != null; }

    /**
     * Stores one position's keys and values of kv heads {@code group0 .. group0 + groups - 1} (the
     * row's {@code kvHeads × hd} floats start at {@code k[off]} and {@code v[off]}) in layer
     * {@code layer} of {@code seq}'s block for it. Different heads of one position may be stored
     * from different threads at once.
     */
    public void store(SequenceKv seq, int layer, int pos, float[] k, float[] v, int off, int group0, int groups, int hd) {
        KvCache cache = seq.cache();
        MemorySegment block = cache.block(seq.block(pos / KvCache.BLOCK));
        int slot = pos % KvCache.BLOCK;
        if (cache.type() == KvCacheType.F16) {
            long keys = cache.keyOffset(layer) + (long) slot * Short.BYTES;
            for (int j = group0 * hd; j < (group0 + groups) * hd; j++) {
                block.set(ValueLayout.JAVA_SHORT, keys + (long) j * KvCache.BLOCK * Short.BYTES, Float.floatToFloat16(k[off + j]));
            }
            for (int g = group0; g < group0 + groups; g++) {
                long at = valueBase(cache, layer, g, hd) + (long) slot * hd * Short.BYTES;
                for (int j = 0; j < hd; j++) block.set(ValueLayout.JAVA_SHORT, at + (long) j * Short.BYTES, Float.floatToFloat16(v[off + g * hd + j]));
            }
            return;
        }
        long keys = cache.keyOffset(layer) + (long) slot * Float.BYTES;
        for (int j = group0 * hd; j < (group0 + groups) * hd; j++) {
            block.set(ValueLayout.JAVA_FLOAT, keys + (long) j * KvCache.BLOCK * Float.BYTES, k[off + j]);
        }
        for (int g = group0; g < group0 + groups; g++) {
            MemorySegment.copy(v, off + g * hd, block, ValueLayout.JAVA_FLOAT, valueBase(cache, layer, g, hd) + (long) slot * hd * Float.BYTES, hd);
        }
    }

    private static long valueBase(KvCache cache, int layer, int group, int hd) {
        return cache.valueOffset(layer) + (long) group * KvCache.BLOCK * hd * cache.type().elementBytes();
    }

    /**
     * Writes {@code groups × headsPerGroup × hd} floats to {@code out[outOff..]}: the query heads of kv heads
     * {@code group0 .. group0 + groups - 1} ({@code q[qOff..]}, in the same order) attending to positions
     * {@code start..pos} of {@code seq}'s layer {@code layer}. (Several kv heads per call let the native kernel
     * fetch the next head's keys and values while it works on one.)
     */
    public void attend(float[] q, int qOff, int group0, int groups, int headsPerGroup, int hd, SequenceKv seq, int layer, int start, int pos,
                       float scale, float[] out, int outOff) {
        if (attend != null) {
            attendNative(q, qOff, group0, groups, headsPerGroup, hd, seq, layer, start, pos, scale, out, outOff);
            return;
        }
        for (int g = 0; g < groups; g++) {
            int at = g * headsPerGroup * hd;
            attendGroup(q, qOff + at, headsPerGroup, hd, seq, layer, group0 + g, start, pos, scale, out, outOff + at);
        }
    }

    private void attendGroup(float[] q, int qOff, int heads, int hd, SequenceKv seq, int layer, int group, int start, int pos, float scale,
                             float[] out, int outOff) {
        KvCache cache = seq.cache();
        int firstBlock = start / KvCache.BLOCK, blockCount = pos / KvCache.BLOCK - firstBlock + 1;
        MemorySegment[] blocks = BLOCK_SEGMENTS.get();
        if (blocks.length < blockCount) {
            blocks = new MemorySegment[Integer.highestOneBit(blockCount) * 2];
            BLOCK_SEGMENTS.set(blocks);
        }
        long keys, values;
        if (cache.type() == KvCacheType.F32) {
            for (int b = 0; b < blockCount; b++) blocks[b] = cache.block(seq.block(firstBlock + b));
            keys = cache.keyOffset(layer) + (long) group * hd * KvCache.BLOCK * Float.BYTES;
            values = valueBase(cache, layer, group, hd);
        } else {
            widen(seq, layer, group, hd, firstBlock, blockCount, blocks);
            keys = 0;
            values = (long) hd * KvCache.BLOCK * Float.BYTES;
        }
        int count = pos - start + 1;
        float[] scores = SCORES.get();
        if (scores.length < count) {
            scores = new float[Integer.highestOneBit(count) * 2];
            SCORES.set(scores);
        }
        float[] blockScores = BLOCK_SCORES.get();
        boolean vector = hd % F.length() == 0;
        for (int head = 0; head < heads; head++) {
            int qh = qOff + head * hd, oh = outOff + head * hd;
            float max = Float.NEGATIVE_INFINITY;
            int i = 0;
            for (int p = start; p <= pos; ) {
                int blockEnd = Math.min(pos, (p / KvCache.BLOCK + 1) * KvCache.BLOCK - 1);
                MemorySegment block = blocks[p / KvCache.BLOCK - firstBlock];
                int first = p % KvCache.BLOCK, n = blockEnd - p + 1;
                blockScores(q, qh, block, keys, hd, scale, blockScores);
                for (int j = 0; j < n; j++) {
                    float s = blockScores[first + j];
                    scores[i++] = s;
                    if (s > max) max = s;
                }
                p = blockEnd + 1;
            }
            VectorMath.expShifted(scores, count, max);
            double sum = 0;
            for (int j = 0; j < count; j++) sum += scores[j];
            float inv = (float) (1.0 / sum);
            for (int j = 0; j < count; j++) scores[j] *= inv;
            if (vector) {
                weightedValues(scores, blocks, firstBlock, values, start, pos, out, oh, hd);
            } else {
                Arrays.fill(out, oh, oh + hd, 0f);
                i = 0;
                for (int p = start; p <= pos; p++, i++) {
                    MemorySegment block = blocks[p / KvCache.BLOCK - firstBlock];
                    long vOff = values + (long) (p % KvCache.BLOCK) * hd * Float.BYTES;
                    for (int j = 0; j < hd; j++) out[oh + j] = Math.fma(scores[i], block.get(ValueLayout.JAVA_FLOAT, vOff + j * 4L), out[oh + j]);
                }
            }
        }
    }

    /**
     * An f16 cache's keys and values of kv head {@code group} in {@code count} blocks from {@code firstBlock} on, widened
     * to f32 (exact) in a per-thread buffer: {@code blocks[b]} becomes that block's key run ({@code hd × BLOCK},
     * transposed as stored) followed by its value run ({@code BLOCK × hd}).
     */
    private static void widen(SequenceKv seq, int layer, int group, int hd, int firstBlock, int count, MemorySegment[] blocks) {
        KvCache cache = seq.cache();
        long run = (long) hd * KvCache.BLOCK, pair = 2 * run * Float.BYTES;
        MemorySegment buffer = WIDENED.get();
        if (buffer.byteSize() < pair * count) {
            buffer = Arena.ofAuto().allocate(Long.highestOneBit(pair * count) * 2, 64);
            WIDENED.set(buffer);
        }
        long keys = cache.keyOffset(layer) + group * run * Short.BYTES, values = valueBase(cache, layer, group, hd);
        for (int b = 0; b < count; b++) {
            MemorySegment source = cache.block(seq.block(firstBlock + b)), target = buffer.asSlice(b * pair, pair);
            for (long i = 0; i < run; i++) {
                target.setAtIndex(ValueLayout.JAVA_FLOAT, i, Float.float16ToFloat(source.get(ValueLayout.JAVA_SHORT, keys + i * Short.BYTES)));
                target.setAtIndex(ValueLayout.JAVA_FLOAT, run + i, Float.float16ToFloat(source.get(ValueLayout.JAVA_SHORT, values + i * Short.BYTES)));
            }
            blocks[b] = target;
        }
    }

    private void attendNative(float[] q, int qOff, int group0, int groups, int heads, int hd, SequenceKv seq, int layer, int start, int pos,
                              float scale, float[] out, int outOff) {
        KvCache cache = seq.cache();
        int firstBlock = start / KvCache.BLOCK, blocks = pos / KvCache.BLOCK - firstBlock + 1;
        long[] addresses = BLOCK_ADDRESSES.get();
        if (addresses.length < blocks) {
            addresses = new long[Integer.highestOneBit(blocks) * 2];
            BLOCK_ADDRESSES.set(addresses);
        }
        for (int b = 0; b < blocks; b++) addresses[b] = cache.block(seq.block(firstBlock + b)).address();
        float[] scratch = SCORES.get();
        int need = heads * blocks * KvCache.BLOCK;
        if (scratch.length < need) {
            scratch = new float[Integer.highestOneBit(need) * 2];
            SCORES.set(scratch);
        }
        try {
            int status = (int) attend.invokeExact(HeapSegments.of(q), qOff, group0, groups, heads, hd, MemorySegment.ofArray(addresses),
                    cache.keyOffset(layer), cache.valueOffset(layer), cache.type() == KvCacheType.F16 ? 1 : 0,
                    start % KvCache.BLOCK, pos - start + 1, scale, HeapSegments.of(scratch), HeapSegments.of(out), outOff);
            if (status != 0) throw new IllegalStateException("native attention returned " + status);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("native attention failed", e);
        }
    }

    /**
     * {@code out[j] = Σ_p w[p] · V[p][j]} over positions {@code start..pos}, each element one FMA per
     * position in position order from zero (the scalar path's operations). Eight vectors of the
     * head are summed at once in registers: one chain per vector would wait on the FMA latency, and
     * summing into memory waits on store forwarding.
     */
    private static void weightedValues(float[] w, MemorySegment[] blocks, int firstBlock, long base, int start, int pos,
                                       float[] out, int oOff, int hd) {
        int lanes = F.length();
        int j0 = 0;
        for (; j0 + 8 * lanes <= hd; j0 += 8 * lanes) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            int i = 0;
            for (int p = start; p <= pos; ) {
                int blockEnd = Math.min(pos, (p / KvCache.BLOCK + 1) * KvCache.BLOCK - 1);
                MemorySegment v = blocks[p / KvCache.BLOCK - firstBlock];
                for (; p <= blockEnd; p++, i++) {
                    long o = base + ((long) (p % KvCache.BLOCK) * hd + j0) * Float.BYTES;
                    FloatVector wv = FloatVector.broadcast(F, w[i]);
                    a0 = wv.fma(FloatVector.fromMemorySegment(F, v, o, ByteOrder.nativeOrder()), a0);
                    a1 = wv.fma(FloatVector.fromMemorySegment(F, v, o + lanes * 4L, ByteOrder.nativeOrder()), a1);
                    a2 = wv.fma(FloatVector.fromMemorySegment(F, v, o + lanes * 8L, ByteOrder.nativeOrder()), a2);
                    a3 = wv.fma(FloatVector.fromMemorySegment(F, v, o + lanes * 12L, ByteOrder.nativeOrder()), a3);
                    a4 = wv.fma(FloatVector.fromMemorySegment(F, v, o + lanes * 16L, ByteOrder.nativeOrder()), a4);
                    a5 = wv.fma(FloatVector.fromMemorySegment(F, v, o + lanes * 20L, ByteOrder.nativeOrder()), a5);
                    a6 = wv.fma(FloatVector.fromMemorySegment(F, v, o + lanes * 24L, ByteOrder.nativeOrder()), a6);
                    a7 = wv.fma(FloatVector.fromMemorySegment(F, v, o + lanes * 28L, ByteOrder.nativeOrder()), a7);
                }
            }
            a0.intoArray(out, oOff + j0);
            a1.intoArray(out, oOff + j0 + lanes);
            a2.intoArray(out, oOff + j0 + 2 * lanes);
            a3.intoArray(out, oOff + j0 + 3 * lanes);
            a4.intoArray(out, oOff + j0 + 4 * lanes);
            a5.intoArray(out, oOff + j0 + 5 * lanes);
            a6.intoArray(out, oOff + j0 + 6 * lanes);
            a7.intoArray(out, oOff + j0 + 7 * lanes);
        }
        for (; j0 < hd; j0 += lanes) {
            FloatVector a = FloatVector.zero(F);
            int i = 0;
            for (int p = start; p <= pos; p++, i++) {
                MemorySegment v = blocks[p / KvCache.BLOCK - firstBlock];
                long o = base + ((long) (p % KvCache.BLOCK) * hd + j0) * Float.BYTES;
                a = FloatVector.broadcast(F, w[i]).fma(FloatVector.fromMemorySegment(F, v, o, ByteOrder.nativeOrder()), a);
            }
            a.intoArray(out, oOff + j0);
        }
    }

    /**
     * {@code out[p] = scale * Σ_d q[d] · K[d][p]} for the 16 positions of a block whose keys are
     * stored transposed: one FMA per dimension for a whole vector of positions, no lane
     * reductions. The dimensions are summed in four chains (d mod 4, in order; the tail past a
     * multiple of four joins chain 0), added as (c0 + c1) + (c2 + c3): one chain would wait on the
     * FMA latency. The scalar path computes the same sums.
     */
    private static void blockScores(float[] q, int qOff, MemorySegment keys, long base, int hd, float scale, float[] out) {
        int lanes = F.length(), hd4 = hd & ~3;
        for (int p0 = 0; p0 < KvCache.BLOCK; p0 += lanes) {
            if (p0 + lanes > KvCache.BLOCK) {
                for (int p = p0; p < KvCache.BLOCK; p++) {
                    float c0 = 0f, c1 = 0f, c2 = 0f, c3 = 0f;
                    int d = 0;
                    for (; d < hd4; d += 4) {
                        c0 = Math.fma(q[qOff + d], keys.get(ValueLayout.JAVA_FLOAT, base + ((long) d * KvCache.BLOCK + p) * 4), c0);
                        c1 = Math.fma(q[qOff + d + 1], keys.get(ValueLayout.JAVA_FLOAT, base + ((long) (d + 1) * KvCache.BLOCK + p) * 4), c1);
                        c2 = Math.fma(q[qOff + d + 2], keys.get(ValueLayout.JAVA_FLOAT, base + ((long) (d + 2) * KvCache.BLOCK + p) * 4), c2);
                        c3 = Math.fma(q[qOff + d + 3], keys.get(ValueLayout.JAVA_FLOAT, base + ((long) (d + 3) * KvCache.BLOCK + p) * 4), c3);
                    }
                    for (; d < hd; d++) c0 = Math.fma(q[qOff + d], keys.get(ValueLayout.JAVA_FLOAT, base + ((long) d * KvCache.BLOCK + p) * 4), c0);
                    out[p] = ((c0 + c1) + (c2 + c3)) * scale;
                }
                break;
            }
            FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0;
            long row = (long) KvCache.BLOCK * 4;
            int d = 0;
            for (; d < hd4; d += 4) {
                long o = base + ((long) d * KvCache.BLOCK + p0) * 4;
                c0 = FloatVector.fromMemorySegment(F, keys, o, ByteOrder.nativeOrder()).fma(FloatVector.broadcast(F, q[qOff + d]), c0);
                c1 = FloatVector.fromMemorySegment(F, keys, o + row, ByteOrder.nativeOrder()).fma(FloatVector.broadcast(F, q[qOff + d + 1]), c1);
                c2 = FloatVector.fromMemorySegment(F, keys, o + 2 * row, ByteOrder.nativeOrder()).fma(FloatVector.broadcast(F, q[qOff + d + 2]), c2);
                c3 = FloatVector.fromMemorySegment(F, keys, o + 3 * row, ByteOrder.nativeOrder()).fma(FloatVector.broadcast(F, q[qOff + d + 3]), c3);
            }
            for (; d < hd; d++) {
                c0 = FloatVector.fromMemorySegment(F, keys, base + ((long) d * KvCache.BLOCK + p0) * 4, ByteOrder.nativeOrder())
                        .fma(FloatVector.broadcast(F, q[qOff + d]), c0);
            }
            c0.add(c1).add(c2.add(c3)).mul(scale).intoArray(out, p0);
        }
    }
}

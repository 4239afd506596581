package dev.herd.engine.runtime;

import dev.herd.engine.KvCacheType;
import dev.herd.engine.tensor.types.NativeKernels;
import dev.herd.engine.testing.NativeIsas;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Attention over the paged KV cache: the Java path is a correct softmax attention (against a
 * double-precision reference), and every native variant this CPU runs computes its bits exactly,
 * for head sizes on and off the vector and four-chain boundaries, any number of heads per group,
 * and position ranges that start and end inside blocks (chunked attention) or span many blocks;
 * in both cache types (an f16 cache is an f32 cache of the rounded values, bit for bit).
 */
class PagedAttentionTest {

    /** {head dim, heads per group, kv heads, start, pos}. */
    private static final int[][] CASES = {
            {128, 4, 4, 0, 0}, {128, 4, 4, 0, 300}, {128, 4, 2, 37, 211}, {128, 5, 2, 16, 47}, {64, 1, 3, 5, 5},
            {64, 3, 1, 0, 95}, {36, 2, 2, 3, 70}, {30, 4, 2, 0, 33}, {8, 6, 1, 15, 16}, {4, 2, 1, 0, 130}, {128, 8, 1, 100, 700},
    };

    @Test
    void theJavaPathIsSoftmaxAttention() {
        Random random = new Random(7);
        for (int[] c : CASES) for (KvCacheType type : KvCacheType.values()) {
            Setup s = new Setup(c, random, type);
            float[] out = new float[s.heads * s.hd];
            PagedAttention.java().attend(s.q, s.qOff, s.group, 1, s.heads, s.hd, s.seq, s.layer, s.start, s.pos, s.scale, out, 0);
            double[] expected = s.reference();
            for (int i = 0; i < out.length; i++) {
                // float scores and weights against double ones: a few float ulps of values of size ~1
                assertEquals(expected[i], out[i], 1e-5 * (1 + Math.abs(expected[i])), type + " case " + java.util.Arrays.toString(c) + " element " + i);
            }
            s.close();
        }
    }

    @Test
    void everyNativeVariantComputesTheJavaBits() {
        List<String> isas = NativeIsas.runnableOrSkip();
        Random random = new Random(11);
        for (int[] c : CASES) for (KvCacheType type : KvCacheType.values()) {
            for (boolean extreme : new boolean[]{false, true}) {
                Setup s = new Setup(c, random, type);
                if (extreme) s.scale = 40f; // scores far apart: weights underflow to zero and subnormals
                // all kv heads of the row in one call (as the model makes it once rows are many), and the last one alone
                for (int[] groups : new int[][]{{0, s.kvHeads}, {s.kvHeads - 1, 1}}) {
                    int qOff = s.qOff + groups[0] * s.heads * s.hd;
                    float[] expected = new float[s.qOff + s.kvHeads * s.heads * s.hd + 3];
                    PagedAttention.java().attend(s.q, qOff, groups[0], groups[1], s.heads, s.hd, s.seq, s.layer, s.start, s.pos, s.scale, expected, qOff);
                    for (String isa : isas) {
                        float[] out = new float[expected.length];
                        PagedAttention.nativeVariant(isa).attend(s.q, qOff, groups[0], groups[1], s.heads, s.hd, s.seq, s.layer, s.start, s.pos, s.scale,
                                out, qOff);
                        for (int i = 0; i < out.length; i++) {
                            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(out[i]),
                                    isa + " " + type + " case " + java.util.Arrays.toString(c) + (extreme ? " (extreme)" : "") + " kv heads " + groups[0] + "+"
                                            + groups[1] + " element " + i + ": " + expected[i] + " vs " + out[i]);
                        }
                    }
                }
                s.close();
            }
        }
    }

    /**
     * Storing into an f16 cache rounds each key and value once ({@link Float#floatToFloat16}); reading
     * widens exactly. So attention over an f16 cache gives the bits of attention over an f32 cache
     * holding the rounded values, in the Java path and every native variant.
     */
    @Test
    void anF16CacheIsAnF32CacheOfTheRoundedValues() {
        Random random = new Random(13);
        List<PagedAttention> paths = new java.util.ArrayList<>(List.of(PagedAttention.java()));
        for (String isa : NativeKernels.runnableIsas()) paths.add(PagedAttention.nativeVariant(isa));
        int hd = 64, heads = 2, kvHeads = 2, kvDim = hd * kvHeads, positions = 40, layer = 1;
        KvCache f16 = new KvCache(2, kvDim, KvCache.bytesPerBlock(2, kvDim, KvCacheType.F16) * 4, KvCacheType.F16);
        KvCache f32 = new KvCache(2, kvDim, KvCache.bytesPerBlock(2, kvDim, KvCacheType.F32) * 4, KvCacheType.F32);
        SequenceKv half = new SequenceKv(f16), full = new SequenceKv(f32);
        half.reserve(positions);
        full.reserve(positions);
        for (int p = 0; p < positions; p++) {
            float[] k = new float[kvDim], v = new float[kvDim], kr = new float[kvDim], vr = new float[kvDim];
            for (int i = 0; i < kvDim; i++) {
                k[i] = (float) (random.nextGaussian() * 3);
                v[i] = (float) random.nextGaussian();
                kr[i] = Float.float16ToFloat(Float.floatToFloat16(k[i]));
                vr[i] = Float.float16ToFloat(Float.floatToFloat16(v[i]));
            }
            assertNotEquals(java.util.Arrays.toString(k), java.util.Arrays.toString(kr), "the values must need rounding");
            // stored a kv head at a time, as the decode step's attention tasks do
            for (int g = 0; g < kvHeads; g++) {
                PagedAttention.java().store(half, layer, p, k, v, 0, g, 1, hd);
                PagedAttention.java().store(full, layer, p, kr, vr, 0, g, 1, hd);
            }
        }
        float[] q = new float[kvHeads * heads * hd];
        for (int i = 0; i < q.length; i++) q[i] = (float) random.nextGaussian();
        for (PagedAttention path : paths) {
            for (int[] range : new int[][]{{0, positions - 1}, {5, 21}, {17, 17}}) {
                float[] expected = new float[q.length], out = new float[q.length];
                path.attend(q, 0, 0, kvHeads, heads, hd, full, layer, range[0], range[1], 0.125f, expected, 0);
                path.attend(q, 0, 0, kvHeads, heads, hd, half, layer, range[0], range[1], 0.125f, out, 0);
                for (int i = 0; i < out.length; i++) {
                    assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(out[i]),
                            (path.isNative() ? "native" : "java") + " positions " + range[0] + ".." + range[1] + " element " + i);
                }
            }
        }
        f16.close();
        f32.close();
    }

    @Test
    void selectedFollowsTheKernelMode() {
        assertEquals(!NativeKernels.runnableIsas().isEmpty() && !dev.herd.engine.tensor.Kernels.mode().equals("java"),
                PagedAttention.selected().isNative());
        assertFalse(PagedAttention.java().isNative());
    }

    /** A sequence with random keys and values in layer 1 of a two-layer cache, and random queries for all its kv heads (the reference attends with the last). */
    private static final class Setup {
        final int hd, heads, kvHeads, start, pos, layer = 1, group;
        final KvCacheType type;
        final int qOff = 5;
        float scale;
        final float[] q;
        final KvCache cache;
        final SequenceKv seq;

        Setup(int[] c, Random random, KvCacheType type) {
            this.type = type;
            hd = c[0];
            heads = c[1];
            kvHeads = c[2];
            start = c[3];
            pos = c[4];
            group = kvHeads - 1;
            scale = (float) (1 / Math.sqrt(hd));
            int kvDim = kvHeads * hd;
            cache = new KvCache(2, kvDim, KvCache.bytesPerBlock(2, kvDim, type) * (KvCache.blocksFor(pos + 1) + 3), type);
            // a scattered block table: take and give back a block first so blocks are not in order
            int spare = cache.allocate();
            seq = new SequenceKv(cache);
            seq.reserve(pos + 1);
            cache.release(spare);
            for (int b = 0; b < seq.blockCount(); b++) {
                MemorySegment block = cache.block(seq.block(b));
                if (type == KvCacheType.F16) {
                    for (long o = 0; o < block.byteSize(); o += 2) block.set(ValueLayout.JAVA_SHORT, o, Float.floatToFloat16((float) random.nextGaussian()));
                } else {
                    for (long o = 0; o < block.byteSize(); o += 4) block.set(ValueLayout.JAVA_FLOAT, o, (float) random.nextGaussian());
                }
            }
            q = new float[qOff + kvHeads * heads * hd];
            for (int i = 0; i < q.length; i++) q[i] = (float) random.nextGaussian();
        }

        float key(int p, int d) {
            return element(p, cache.keyOffset(layer) + ((long) (group * hd + d) * KvCache.BLOCK + p % KvCache.BLOCK) * type.elementBytes());
        }

        private float element(int p, long offset) {
            MemorySegment block = cache.block(seq.block(p / KvCache.BLOCK));
            return type == KvCacheType.F16 ? Float.float16ToFloat(block.get(ValueLayout.JAVA_SHORT, offset)) : block.get(ValueLayout.JAVA_FLOAT, offset);
        }

        float value(int p, int d) {
            return element(p, cache.valueOffset(layer) + ((long) (group * KvCache.BLOCK + p % KvCache.BLOCK) * hd + d) * type.elementBytes());
        }

        double[] reference() {
            double[] out = new double[heads * hd];
            for (int h = 0; h < heads; h++) {
                double[] s = new double[pos - start + 1];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int p = start; p <= pos; p++) {
                    double dot = 0;
                    for (int d = 0; d < hd; d++) dot += (double) q[qOff + h * hd + d] * key(p, d);
                    s[p - start] = dot * scale;
                    max = Math.max(max, s[p - start]);
                }
                for (int i = 0; i < s.length; i++) sum += s[i] = Math.exp(s[i] - max);
                for (int p = start; p <= pos; p++)
                    for (int d = 0; d < hd; d++) out[h * hd + d] += s[p - start] / sum * value(p, d);
            }
            return out;
        }

        void close() { cache.close(); }
    }
}

package dev.herd.engine.model.llama4;

import dev.herd.engine.runtime.Batch;
import dev.herd.engine.runtime.ComputePool;
import dev.herd.engine.runtime.Linear;
import dev.herd.engine.runtime.PagedAttention;
import dev.herd.engine.runtime.TextModel;
import dev.herd.engine.tensor.EncodedActivations;
import dev.herd.engine.tensor.Tensor;
import dev.herd.engine.tensor.VectorMath;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The Llama 4 text decoder, as llama.cpp and transformers compute it (see docs/llama4.md):
 * RMSNorm; grouped-query attention with interleaved-pair RoPE and per-head QK RMS-norm on RoPE
 * layers, chunked local attention there and full causal attention with temperature-tuned queries
 * on the NoPE layers; dense SwiGLU or MoE (top-k router, sigmoid weight scaling the expert's
 * input, plus the shared expert) feed-forward; final norm and output head.
 *
 * <p>One {@link #forward} call processes a batch of tokens from any number of sequences; every
 * per-token quantity is computed by the same operations whatever else is in the batch.
 */
public final class Llama4TextModel implements TextModel {

    private final Llama4Config c;
    private final Llama4Weights w;
    private final Linear linear;
    private final PagedAttention attention = PagedAttention.selected();
    private final ComputePool pool;
    private final AutoCloseable resources;
    /** {@code freq_base^(-2/headDim)} in float, stepped the way ggml builds its RoPE cache. */
    private final float thetaScale;
    private final float thetaScaleChunked;
    private final java.util.Map<String, float[]> buffers = new java.util.HashMap<>();

    public Llama4TextModel(Llama4Config config, Llama4Weights weights, ComputePool pool, AutoCloseable resources) {
        this.c = config;
        this.w = weights;
        this.pool = pool;
        this.linear = new Linear(pool);
        this.resources = resources;
        this.thetaScale = (float) Math.pow(config.ropeTheta(), -2.0 / config.headDim());
        this.thetaScaleChunked = (float) Math.pow(config.ropeThetaChunked(), -2.0 / config.headDim());
    }

    public Llama4Config config() { return c; }

    @Override public int vocabSize() { return c.vocabSize(); }
    @Override public int contextLength() { return c.contextLength(); }
    @Override public int layers() { return c.layers(); }
    @Override public int kvDim() { return c.kvDim(); }
    @Override public int embeddingDim() { return c.dim(); }

    @Override
    public float[] forward(Batch b, RoutingTrace trace) {
        int n = b.size();
        int d = c.dim();
        float[] x = buffer("x", n * d);
        embed(b, x);

        float[] h = buffer("h", n * d);
        float[] q = buffer("q", n * c.qDim());
        float[] k = buffer("k", n * c.kvDim());
        float[] v = buffer("v", n * c.kvDim());
        float[] attn = buffer("attn", n * c.qDim());
        float[] out = buffer("out", n * d);
        step++;
        boolean oneRowPerSequence = b.oneRowPerSequence();
        for (int l = 0; l < c.layers(); l++) {
            Llama4Weights.Layer layer = w.layers[l];
            rmsNormRows(x, h, n, d, layer.attnNorm());
            attention(b, l, layer, h, q, k, v, attn, out, oneRowPerSequence);
            addInto(x, out, n * d);
            rmsNormRows(x, h, n, d, layer.ffnNorm());
            if (layer.isMoe()) moe(l, layer, h, n, out, trace);
            else swiglu(FfnSlots.DENSE, layer.gate(), layer.up(), layer.down(), h, n, out);
            addInto(x, out, n * d);
        }
        return logits(b, x);
    }

    private void embed(Batch b, float[] x) {
        int d = c.dim();
        Tensor e = w.tokenEmbedding;
        for (int t = 0; t < b.size(); t++) {
            float[] override = b.embedding(t);
            if (override != null) {
                System.arraycopy(override, b.embeddingOffset(t), x, t * d, d);
                continue;
            }
            int token = b.token(t);
            if (token < 0 || token >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + token + " is outside the vocabulary [0, " + c.vocabSize() + ")");
            }
            e.kernel().dequantize(e.data(), token * e.rowBytes(), x, t * d, d);
        }
    }

    // ---- attention -------------------------------------------------------------------------

    private void attention(Batch b, int l, Llama4Weights.Layer layer, float[] h, float[] q, float[] k, float[] v, float[] attn,
                           float[] out, boolean oneRowPerSequence) {
        int n = b.size(), d = c.dim(), groups = c.kvHeads();
        EncodedActivations hq = linear.encode("attn_in", layer.wq(), h, n, d);
        linear.matmulAll(List.of(new Linear.Product(layer.wq(), hq, q),
                new Linear.Product(layer.wk(), sameOrEncode(hq, "attn_in_k", layer.wk(), h, n, d), k),
                new Linear.Product(layer.wv(), sameOrEncode(hq, "attn_in_v", layer.wv(), h, n, d), v)));

        float[] rope = c.usesRope(l) ? ropeTable(b, c.isChunked(l)) : null;
        // a row's kv heads in one task once there are rows enough to keep the threads busy
        int perTask = n >= 2 * pool.threads() ? groups : 1, tasksPerRow = groups / perTask;
        if (oneRowPerSequence) {
            // Each row sees only its own new position beside earlier ones: a task positions and stores
            // its heads' queries, keys and values itself, then attends, all in one parallel loop.
            pool.parallelFor(n * tasksPerRow, task -> {
                int t = task / tasksPerRow, group0 = task % tasksPerRow * perTask;
                positionHeads(b, l, t, group0, perTask, rope, q, k);
                attention.store(b.sequence(t), l, b.position(t), k, v, t * c.kvDim(), group0, perTask, c.headDim());
                attendGroups(b, l, t, group0, perTask, q, attn);
            });
        } else {
            pool.parallelFor(n, t -> positionHeads(b, l, t, 0, groups, rope, q, k));
            // Store keys and values before attending: a prefill row sees the earlier rows of its own batch.
            for (int t = 0; t < n; t++) attention.store(b.sequence(t), l, b.position(t), k, v, t * c.kvDim(), 0, groups, c.headDim());
            pool.parallelFor(n * tasksPerRow, task -> attendGroups(b, l, task / tasksPerRow, task % tasksPerRow * perTask, perTask, q, attn));
        }

        EncodedActivations ao = linear.encode("attn_out", layer.wo(), attn, n, c.qDim());
        linear.matmul(layer.wo(), ao, out);
    }

    /**
     * RoPE and the QK norm (RoPE layers) or the attention temperature (NoPE layers) on row
     * {@code t}'s query heads of kv heads {@code group0 ..} and on those kv heads' keys.
     */
    private void positionHeads(Batch b, int l, int t, int group0, int groups, float[] rope, float[] q, float[] k) {
        int hd = c.headDim(), headsPerGroup = c.heads() / c.kvHeads();
        int q0 = t * c.heads() + group0 * headsPerGroup, q1 = q0 + groups * headsPerGroup;
        int k0 = t * c.kvHeads() + group0, k1 = k0 + groups;
        if (rope != null) {
            int angles = t * hd; // cos at [angles, angles + hd/2), sin after them
            for (int head = q0; head < q1; head++) rotate(q, head * hd, rope, angles, hd / 2);
            for (int head = k0; head < k1; head++) rotate(k, head * hd, rope, angles, hd / 2);
            if (c.qkNorm()) {
                for (int head = q0; head < q1; head++) rmsNormInPlace(q, head * hd, hd);
                for (int head = k0; head < k1; head++) rmsNormInPlace(k, head * hd, hd);
            }
        } else {
            float s = temperatureScale(b.position(t));
            if (s != 1f) for (int i = q0 * hd; i < q1 * hd; i++) q[i] *= s;
        }
    }

    /** Forward calls so far: the RoPE tables below are computed once per call. */
    private long step;
    private final long[] ropeTableStep = {-1, -1};

    /**
     * Cos and sin of every row's rotary angles ({@code [t * hd, t * hd + hd/2)} cos, then as many sin),
     * for the chunked (local) or the global layers' base, computed at the first layer of a step that
     * needs them: the same for every layer of the kind.
     */
    private float[] ropeTable(Batch b, boolean chunked) {
        int variant = chunked ? 1 : 0, hd = c.headDim();
        float[] table = buffer(chunked ? "rope_chunked" : "rope", b.size() * hd);
        if (ropeTableStep[variant] != step) {
            float scale = chunked ? thetaScaleChunked : thetaScale;
            for (int t = 0; t < b.size(); t++) ropeAngles(b.position(t), scale, table, t * hd, hd / 2);
            ropeTableStep[variant] = step;
        }
        return table;
    }

    private EncodedActivations sameOrEncode(EncodedActivations encoded, String slot, Tensor wt, float[] x, int n, int len) {
        return wt.kernel().activationEncoding() == encoded.encoding() ? encoded : linear.encode(slot, wt, x, n, len);
    }

    /** llama.cpp's attention temperature for NoPE layers: 1 below position floor-1. */
    float temperatureScale(int pos) {
        return (float) (VectorMath.log(Math.floor((pos + 1.0f) / c.attnTempFloor()) + 1.0) * c.attnTempScale() + 1.0);
    }

    /** Cos/sin per rotary pair into {@code table[at ..]} ({@code pairs} cos, then {@code pairs} sin), stepping theta in float as ggml's rope cache does. */
    private void ropeAngles(int pos, float scale, float[] table, int at, int pairs) {
        float theta = pos;
        float[] factors = w.ropeFactors;
        for (int i = 0; i < pairs; i++) {
            float angle = factors == null ? theta : theta / factors[i];
            table[at + i] = VectorMath.cos(angle);
            table[at + pairs + i] = VectorMath.sin(angle);
            theta *= scale;
        }
    }

    /** Rotates adjacent pairs {@code (x[2i], x[2i+1])} (ggml's "normal" RoPE, the complex layout) by the angles at {@code table[at ..]}. */
    private static void rotate(float[] x, int off, float[] table, int at, int pairs) {
        for (int i = 0; i < pairs; i++) {
            float cos = table[at + i], sin = table[at + pairs + i];
            float x0 = x[off + 2 * i], x1 = x[off + 2 * i + 1];
            x[off + 2 * i] = x0 * cos - x1 * sin;
            x[off + 2 * i + 1] = x0 * sin + x1 * cos;
        }
    }

    /** The query heads of kv heads {@code group0 ..} for row {@code t}: softmax(q·K * scale)·V over the visible positions. */
    private void attendGroups(Batch b, int l, int t, int group0, int groups, float[] q, float[] attn) {
        int pos = b.position(t);
        int start = c.isChunked(l) ? pos / c.chunkSize() * c.chunkSize() : 0;
        int headsPerGroup = c.heads() / c.kvHeads();
        int off = (t * c.heads() + group0 * headsPerGroup) * c.headDim();
        attention.attend(q, off, group0, groups, headsPerGroup, c.headDim(), b.sequence(t), l, start, pos, c.attentionScale(), attn, off);
    }

    // ---- feed-forward -----------------------------------------------------------------------

    /** The buffer names of one feed-forward block (named once: they are looked up per layer per step). */
    private record FfnSlots(String gate, String up, String in, String inUp, String down, String out) {
        static final FfnSlots DENSE = of("dense"), EXPERT = of("expert"), SHARED = of("shared");

        static FfnSlots of(String kind) {
            return new FfnSlots(kind + "_gate", kind + "_up", kind + "_in", kind + "_in_up", kind + "_down", kind + "_out");
        }
    }

    /** SiLU values per task: about one token's FFN, so a decode step's SiLU needs no hand-off. */
    private static final int SILU_PER_TASK = 8192;

    /** {@code out = down(silu(gate·x) * (up·x))} for {@code n} rows of {@code x}: gate and up in one parallel loop. */
    private void swiglu(FfnSlots slot, Tensor gate, Tensor up, Tensor down, float[] x, int n, float[] out) {
        float[] g = gateUpSilu(slot, gate, up, x, n, List.of());
        linear.apply(slot.down(), down, g, n, out);
    }

    /**
     * {@code silu(gate·x) * (up·x)} for {@code n} rows of {@code x}, into the slot's gate buffer
     * (returned): gate, up and the independent products {@code alongside} in one parallel loop.
     */
    private float[] gateUpSilu(FfnSlots slot, Tensor gate, Tensor up, float[] x, int n, List<Linear.Product> alongside) {
        int d = gate.rowLength(), f = Math.toIntExact(gate.rows());
        float[] g = buffer(slot.gate(), n * f), u = buffer(slot.up(), n * f);
        EncodedActivations xe = linear.encode(slot.in(), gate, x, n, d);
        List<Linear.Product> products = new ArrayList<>(alongside);
        products.add(new Linear.Product(gate, xe, g));
        products.add(new Linear.Product(up, sameOrEncode(xe, slot.inUp(), up, x, n, d), u));
        linear.matmulAll(products);
        linear.pool().parallelRanges(n * f, SILU_PER_TASK, (s, e) -> VectorMath.siluMul(g, u, s, e));
        return g;
    }

    /**
     * Routed experts plus the shared expert. Rows are grouped by chosen expert so each expert's
     * weights are read once per step; an expert sees {@code x * sigmoid(router logit)}. The shared
     * expert does not wait for the routing: its gate and up run in the router's parallel loop and
     * its down in the first routed expert's gate-and-up loop, so a one-token step has three
     * parallel loops here instead of five, and the router's small product no longer runs alone.
     */
    private void moe(int l, Llama4Weights.Layer layer, float[] x, int n, float[] out, RoutingTrace trace) {
        int d = c.dim(), experts = c.experts(), k = c.expertsUsed();
        float[] router = buffer("router", n * experts);
        Linear.Product routing = new Linear.Product(layer.router(), linear.encode("router", layer.router(), x, n, d), router);
        float[] shared = gateUpSilu(FfnSlots.SHARED, layer.gateShared(), layer.upShared(), x, n, List.of(routing));
        Tensor sharedDown = layer.downShared();
        List<Linear.Product> pending = List.of(new Linear.Product(sharedDown,
                linear.encode(FfnSlots.SHARED.down(), sharedDown, shared, n, sharedDown.rowLength()), out));

        int[][] chosen = new int[n][];
        List<List<int[]>> byExpert = new ArrayList<>(experts); // entries: {row, slot}
        for (int e = 0; e < experts; e++) byExpert.add(new ArrayList<>());
        for (int t = 0; t < n; t++) {
            chosen[t] = topK(router, t * experts, experts, k);
            for (int s = 0; s < k; s++) byExpert.get(chosen[t][s]).add(new int[]{t, s});
            if (trace != null) trace.experts(l, t, chosen[t].clone(), Arrays.copyOfRange(router, t * experts, (t + 1) * experts));
        }

        // One expert at a time, through shared buffers: running them side by side would need every
        // expert's buffers at once, and each expert's would grow to the most rows it ever saw.
        float[] routed = buffer("routed", n * k * d); // [row][slot][d]
        for (int e = 0; e < experts; e++) {
            List<int[]> rows = byExpert.get(e);
            if (rows.isEmpty()) continue;
            int m = rows.size();
            float[] in = buffer(FfnSlots.EXPERT.in(), m * d), y = buffer(FfnSlots.EXPERT.out(), m * d);
            for (int i = 0; i < m; i++) {
                int t = rows.get(i)[0];
                float weight = sigmoid(router[t * experts + e]);
                for (int j = 0; j < d; j++) in[i * d + j] = x[t * d + j] * weight;
            }
            float[] g = gateUpSilu(FfnSlots.EXPERT, layer.gateExperts().slice(e), layer.upExperts().slice(e), in, m, pending);
            pending = List.of();
            linear.apply(FfnSlots.EXPERT.down(), layer.downExperts().slice(e), g, m, y);
            for (int i = 0; i < m; i++) {
                int[] rs = rows.get(i);
                System.arraycopy(y, i * d, routed, (rs[0] * k + rs[1]) * d, d);
            }
        }
        if (!pending.isEmpty()) linear.matmulAll(pending); // no row chose an expert (an empty batch)
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < d; j++) {
                float sum = routed[(t * k) * d + j];
                for (int s = 1; s < k; s++) sum += routed[(t * k + s) * d + j];
                out[t * d + j] = sum + out[t * d + j];
            }
        }
    }

    /** Indices of the {@code k} largest logits, largest first, lower index first on ties. */
    static int[] topK(float[] logits, int off, int n, int k) {
        int[] best = new int[k];
        Arrays.fill(best, -1);
        for (int i = 0; i < n; i++) {
            float v = logits[off + i];
            for (int s = 0; s < k; s++) {
                if (best[s] < 0 || v > logits[off + best[s]]) {
                    System.arraycopy(best, s, best, s + 1, k - s - 1);
                    best[s] = i;
                    break;
                }
            }
        }
        return best;
    }

    private static float sigmoid(float x) {
        return 1.0f / (1.0f + VectorMath.exp(-x));
    }

    // ---- output -----------------------------------------------------------------------------

    private float[] logits(Batch b, float[] x) {
        int d = c.dim();
        int rows = b.logitRows();
        float[] normed = buffer("final_norm", rows * d);
        for (int t = 0, r = 0; t < b.size(); t++) {
            if (!b.wantsLogits(t)) continue;
            rmsNorm(x, t * d, normed, r * d, d, w.outputNorm);
            r++;
        }
        float[] logits = buffer("logits", rows * c.vocabSize());
        if (rows > 0) linear.apply("output", w.output, normed, rows, logits);
        return logits;
    }

    // ---- elementwise ------------------------------------------------------------------------

    /** Rows per task of a batch's RMS norms (each ~0.5 us for 2048 values). */
    private static final int NORM_ROWS_PER_TASK = 4;

    private void rmsNormRows(float[] x, float[] out, int n, int d, float[] weight) {
        pool.parallelRanges(n, NORM_ROWS_PER_TASK, (s, e) -> {
            for (int t = s; t < e; t++) rmsNorm(x, t * d, out, t * d, d, weight);
        });
    }

    /** ggml's rms_norm: mean of squares summed in double (in eight partial sums), then {@code x / sqrt(mean + eps) * weight} in float. */
    private void rmsNorm(float[] x, int xOff, float[] out, int oOff, int d, float[] weight) {
        VectorMath.scaleMul(x, xOff, rmsScale(x, xOff, d), weight, out, oOff, d);
    }

    private void rmsNormInPlace(float[] x, int off, int d) {
        float scale = rmsScale(x, off, d);
        for (int i = 0; i < d; i++) x[off + i] *= scale;
    }

    private float rmsScale(float[] x, int off, int d) {
        float mean = (float) (VectorMath.sumOfSquares(x, off, d) / d);
        return 1.0f / (float) Math.sqrt(mean + c.rmsEps());
    }

    private static void addInto(float[] x, float[] y, int n) {
        for (int i = 0; i < n; i++) x[i] = y[i] + x[i];
    }

    /**
     * A scratch array of at least {@code size} floats, reused across steps so a step allocates
     * nothing once the batch sizes have been seen (the scheduler thread is the only caller).
     */
    private float[] buffer(String name, int size) {
        float[] b = buffers.get(name);
        if (b == null || b.length < size) {
            b = new float[size];
            buffers.put(name, b);
        }
        return b;
    }

    @Override
    public void close() {
        try {
            resources.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing the model failed", e);
        }
    }
}

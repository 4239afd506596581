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
        for (int l = 0; l < c.layers(); l++) {
            Llama4Weights.Layer layer = w.layers[l];
            rmsNormRows(x, h, n, d, layer.attnNorm());
            attention(b, l, layer, h, q, k, v, attn, out);
            addInto(x, out, n * d);
            rmsNormRows(x, h, n, d, layer.ffnNorm());
            if (layer.isMoe()) moe(l, layer, h, n, out, trace);
            else denseFfn(layer.gate(), layer.up(), layer.down(), h, n, out);
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

    private void attention(Batch b, int l, Llama4Weights.Layer layer, float[] h, float[] q, float[] k, float[] v,
                           float[] attn, float[] out) {
        int n = b.size(), d = c.dim(), hd = c.headDim();
        EncodedActivations hq = linear.encode("attn_in", layer.wq(), h, n, d);
        linear.matmulAll(List.of(new Linear.Product(layer.wq(), hq, q),
                new Linear.Product(layer.wk(), sameOrEncode(hq, "attn_in_k", layer.wk(), h, n, d), k),
                new Linear.Product(layer.wv(), sameOrEncode(hq, "attn_in_v", layer.wv(), h, n, d), v)));

        boolean rope = c.usesRope(l);
        pool.parallelFor(n, t -> {
            int pos = b.position(t);
            if (rope) {
                float scale = c.isChunked(l) ? thetaScaleChunked : thetaScale;
                float[] cos = new float[hd / 2], sin = new float[hd / 2];
                ropeAngles(pos, scale, cos, sin);
                for (int head = 0; head < c.heads(); head++) rotate(q, (t * c.heads() + head) * hd, cos, sin);
                for (int head = 0; head < c.kvHeads(); head++) rotate(k, (t * c.kvHeads() + head) * hd, cos, sin);
                if (c.qkNorm()) {
                    for (int head = 0; head < c.heads(); head++) rmsNormInPlace(q, (t * c.heads() + head) * hd, hd);
                    for (int head = 0; head < c.kvHeads(); head++) rmsNormInPlace(k, (t * c.kvHeads() + head) * hd, hd);
                }
            } else {
                float s = temperatureScale(pos);
                if (s != 1f) for (int i = t * c.qDim(); i < (t + 1) * c.qDim(); i++) q[i] *= s;
            }
        });

        // Store keys and values before attending: a prefill row sees the earlier rows of its own batch.
        for (int t = 0; t < n; t++) attention.store(b.sequence(t), l, b.position(t), k, v, t * c.kvDim(), c.kvHeads(), hd);

        // a row's kv heads in one task once there are rows enough to keep the threads busy
        int groups = c.kvHeads(), perTask = n >= 2 * pool.threads() ? groups : 1, tasksPerRow = groups / perTask;
        boolean chunked = c.isChunked(l);
        pool.parallelFor(n * tasksPerRow, task -> attendGroups(b, l, task / tasksPerRow, task % tasksPerRow * perTask, perTask, chunked, q, attn));

        EncodedActivations ao = linear.encode("attn_out", layer.wo(), attn, n, c.qDim());
        linear.matmul(layer.wo(), ao, out);
    }

    private EncodedActivations sameOrEncode(EncodedActivations encoded, String slot, Tensor wt, float[] x, int n, int len) {
        return wt.kernel().activationEncoding() == encoded.encoding() ? encoded : linear.encode(slot, wt, x, n, len);
    }

    /** llama.cpp's attention temperature for NoPE layers: 1 below position floor-1. */
    float temperatureScale(int pos) {
        return (float) (VectorMath.log(Math.floor((pos + 1.0f) / c.attnTempFloor()) + 1.0) * c.attnTempScale() + 1.0);
    }

    /** Cos/sin per rotary pair, stepping theta in float as ggml's rope cache does. */
    private void ropeAngles(int pos, float scale, float[] cos, float[] sin) {
        float theta = pos;
        float[] factors = w.ropeFactors;
        for (int i = 0; i < cos.length; i++) {
            float angle = factors == null ? theta : theta / factors[i];
            cos[i] = VectorMath.cos(angle);
            sin[i] = VectorMath.sin(angle);
            theta *= scale;
        }
    }

    /** Rotates adjacent pairs {@code (x[2i], x[2i+1])} (ggml's "normal" RoPE, the complex layout). */
    private static void rotate(float[] x, int off, float[] cos, float[] sin) {
        for (int i = 0; i < cos.length; i++) {
            float x0 = x[off + 2 * i], x1 = x[off + 2 * i + 1];
            x[off + 2 * i] = x0 * cos[i] - x1 * sin[i];
            x[off + 2 * i + 1] = x0 * sin[i] + x1 * cos[i];
        }
    }

    /** The query heads of kv heads {@code group0 ..} for row {@code t}: softmax(q·K * scale)·V over the visible positions. */
    private void attendGroups(Batch b, int l, int t, int group0, int groups, boolean chunked, float[] q, float[] attn) {
        int pos = b.position(t);
        int start = chunked ? pos / c.chunkSize() * c.chunkSize() : 0;
        int headsPerGroup = c.heads() / c.kvHeads();
        int off = (t * c.heads() + group0 * headsPerGroup) * c.headDim();
        attention.attend(q, off, group0, groups, headsPerGroup, c.headDim(), b.sequence(t), l, start, pos, c.attentionScale(), attn, off);
    }

    // ---- feed-forward -----------------------------------------------------------------------

    /** SiLU values per task: about one token's FFN, so a decode step's SiLU needs no hand-off. */
    private static final int SILU_PER_TASK = 8192;

    /** The dense feed-forward {@code out = down(silu(gate·x) * (up·x))} for {@code n} rows of {@code x}: gate and up in one parallel loop. */
    private void denseFfn(Tensor gate, Tensor up, Tensor down, float[] x, int n, float[] out) {
        int d = gate.rowLength(), f = Math.toIntExact(gate.rows());
        float[] g = buffer("dense_gate", n * f), u = buffer("dense_up", n * f);
        EncodedActivations xe = linear.encode("dense_in", gate, x, n, d);
        linear.matmulAll(List.of(new Linear.Product(gate, xe, g), new Linear.Product(up, sameOrEncode(xe, "dense_in_up", up, x, n, d), u)));
        pool.parallelRanges(n * f, SILU_PER_TASK, (s, e) -> VectorMath.siluMul(g, u, s, e));
        linear.apply("dense_down", down, g, n, out);
    }

    /**
     * Routed experts plus the shared expert. The step's rows are grouped by chosen expert into one
     * buffer, so each expert's weights are read once per step, and all the experts' gate and up
     * products run in one parallel loop with the shared expert's, all the down products in another
     * (a decode step would otherwise hand off two small loops per expert). An expert sees
     * {@code x * sigmoid(router logit)}.
     */
    private void moe(int l, Llama4Weights.Layer layer, float[] x, int n, float[] out, RoutingTrace trace) {
        int d = c.dim(), experts = c.experts(), k = c.expertsUsed(), m = n * k;
        float[] router = buffer("router", n * experts);
        linear.apply("router", layer.router(), x, n, router);

        // choice ts = t * k + s goes to grouped row at[ts]; expert e's rows are first[e] .. first[e + 1]
        int[] chosen = new int[m], first = new int[experts + 1], at = new int[m];
        for (int t = 0; t < n; t++) {
            int[] best = topK(router, t * experts, experts, k);
            System.arraycopy(best, 0, chosen, t * k, k);
            for (int e : best) first[e + 1]++;
            if (trace != null) trace.experts(l, t, best, Arrays.copyOfRange(router, t * experts, (t + 1) * experts));
        }
        for (int e = 0; e < experts; e++) first[e + 1] += first[e];
        int[] next = Arrays.copyOf(first, experts);
        float[] in = buffer("expert_in", m * d);
        for (int ts = 0; ts < m; ts++) {
            int e = chosen[ts], t = ts / k, i = next[e]++;
            at[ts] = i;
            float weight = sigmoid(router[t * experts + e]);
            for (int j = 0; j < d; j++) in[i * d + j] = x[t * d + j] * weight;
        }

        Tensor gate0 = layer.gateExperts().slice(0), up0 = layer.upExperts().slice(0), down0 = layer.downExperts().slice(0);
        Tensor gateShared = layer.gateShared(), upShared = layer.upShared(), downShared = layer.downShared();
        int f = Math.toIntExact(gate0.rows()), fs = Math.toIntExact(gateShared.rows());
        float[] g = buffer("expert_gate", m * f), u = buffer("expert_up", m * f);
        float[] gs = buffer("shared_gate", n * fs), us = buffer("shared_up", n * fs);
        EncodedActivations inGate = linear.encode("expert_in", gate0, in, m, d), inUp = sameOrEncode(inGate, "expert_in_up", up0, in, m, d);
        EncodedActivations xGate = linear.encode("shared_in", gateShared, x, n, d), xUp = sameOrEncode(xGate, "shared_in_up", upShared, x, n, d);
        List<Linear.Product> products = new ArrayList<>();
        for (int e = 0; e < experts; e++) {
            int rows = first[e + 1] - first[e];
            if (rows == 0) continue;
            products.add(new Linear.Product(layer.gateExperts().slice(e), inGate.view(first[e], rows), g, first[e] * f));
            products.add(new Linear.Product(layer.upExperts().slice(e), inUp.view(first[e], rows), u, first[e] * f));
        }
        products.add(new Linear.Product(gateShared, xGate, gs));
        products.add(new Linear.Product(upShared, xUp, us));
        linear.matmulAll(products);
        pool.parallelRanges(m * f, SILU_PER_TASK, (s, e) -> VectorMath.siluMul(g, u, s, e));
        pool.parallelRanges(n * fs, SILU_PER_TASK, (s, e) -> VectorMath.siluMul(gs, us, s, e));

        float[] routed = buffer("expert_out", m * d); // grouped rows
        EncodedActivations gDown = linear.encode("expert_down", down0, g, m, f), gsDown = linear.encode("shared_down", downShared, gs, n, fs);
        products.clear();
        for (int e = 0; e < experts; e++) {
            int rows = first[e + 1] - first[e];
            if (rows > 0) products.add(new Linear.Product(layer.downExperts().slice(e), gDown.view(first[e], rows), routed, first[e] * d));
        }
        products.add(new Linear.Product(downShared, gsDown, out));
        linear.matmulAll(products);
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < d; j++) {
                float sum = routed[at[t * k] * d + j];
                for (int s = 1; s < k; s++) sum += routed[at[t * k + s] * d + j];
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

    private void rmsNormRows(float[] x, float[] out, int n, int d, float[] weight) {
        for (int t = 0; t < n; t++) rmsNorm(x, t * d, out, t * d, d, weight);
    }

    /** ggml's rms_norm: mean of squares summed in double, then {@code x / sqrt(mean + eps) * weight} in float. */
    private void rmsNorm(float[] x, int xOff, float[] out, int oOff, int d, float[] weight) {
        float scale = rmsScale(x, xOff, d);
        for (int i = 0; i < d; i++) out[oOff + i] = x[xOff + i] * scale * weight[i];
    }

    private void rmsNormInPlace(float[] x, int off, int d) {
        float scale = rmsScale(x, off, d);
        for (int i = 0; i < d; i++) x[off + i] *= scale;
    }

    private float rmsScale(float[] x, int off, int d) {
        double sum = 0;
        for (int i = 0; i < d; i++) sum += (double) x[off + i] * x[off + i];
        float mean = (float) (sum / d);
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

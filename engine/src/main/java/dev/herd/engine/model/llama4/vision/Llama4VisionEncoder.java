package dev.herd.engine.model.llama4.vision;

import dev.herd.engine.gguf.GgufFormatException;
import dev.herd.engine.gguf.GgufModel;
import dev.herd.engine.model.TensorLoader;
import dev.herd.engine.runtime.ComputePool;
import dev.herd.engine.runtime.Linear;
import dev.herd.engine.tensor.Tensor;
import dev.herd.engine.tensor.VectorMath;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The Llama 4 vision tower and projector, as transformers computes them: unfold-and-linear patch
 * embedding, the class token appended last, learned position embeddings, pre-LayerNorm; ViT
 * blocks with 2-D RoPE on patch coordinates and a GELU MLP; post-LayerNorm; the class token
 * dropped; pixel shuffle in transformers' (row-major) token order; the two-layer GELU adapter;
 * the projection into the text model's embedding space.
 *
 * <p>Tiles are encoded together so each weight is read once per image. Thread-safety: one call
 * at a time (it uses the compute pool).
 */
public final class Llama4VisionEncoder implements AutoCloseable {

    private final VisionConfig c;
    private final Linear linear;
    private final AutoCloseable resources;
    private final Tensor patchEmbedding;
    private final float[] classEmbedding;
    private final float[] positionEmbedding;
    private final float[] preLnW, preLnB, postLnW, postLnB;
    private final Block[] blocks;
    private final Tensor adapterFc1, adapterFc2, projector;
    private final int textDim;
    private final float[] ropeCos, ropeSin; // [token][headDim/2]

    private record Block(float[] ln1W, float[] ln1B, Tensor q, float[] qB, Tensor k, float[] kB, Tensor v, float[] vB,
                         Tensor o, float[] oB, float[] ln2W, float[] ln2B, Tensor up, float[] upB, Tensor down, float[] downB) {}

    private Llama4VisionEncoder(VisionConfig c, GgufModel gguf, ComputePool pool) throws GgufFormatException {
        this.c = c;
        this.linear = new Linear(pool);
        this.resources = gguf;
        int h = c.hidden(), n = c.patchesPerTile();
        TensorLoader l = new TensorLoader(gguf, "herd reads the standard mmproj names written by llama.cpp's converter (v.blk.N.ln1/ln2/attn_q/…, mm.model.mlp.1/2, mm.model.fc)");
        patchEmbedding = l.matrix("v.patch_embd.weight", 3L * c.patchSize() * c.patchSize(), h);
        classEmbedding = l.vector("v.class_embd", h);
        positionEmbedding = l.tensor("v.position_embd.weight", h, n + 1).toFloatArray();
        preLnW = l.vector("v.pre_ln.weight", h);
        preLnB = l.vector("v.pre_ln.bias", h);
        postLnW = l.vector("v.post_ln.weight", h);
        postLnB = l.vector("v.post_ln.bias", h);
        blocks = new Block[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "v.blk." + i + ".";
            blocks[i] = new Block(
                    l.vector(p + "ln1.weight", h), l.vector(p + "ln1.bias", h),
                    l.matrix(p + "attn_q.weight", h, h), l.vector(p + "attn_q.bias", h),
                    l.matrix(p + "attn_k.weight", h, h), l.vector(p + "attn_k.bias", h),
                    l.matrix(p + "attn_v.weight", h, h), l.vector(p + "attn_v.bias", h),
                    l.matrix(p + "attn_out.weight", h, h), l.vector(p + "attn_out.bias", h),
                    l.vector(p + "ln2.weight", h), l.vector(p + "ln2.bias", h),
                    l.matrix(p + "ffn_up.weight", h, c.ffn()), l.vector(p + "ffn_up.bias", c.ffn()),
                    l.matrix(p + "ffn_down.weight", c.ffn(), h), l.vector(p + "ffn_down.bias", h));
        }
        int shuffled = h * c.shuffleFactor() * c.shuffleFactor();
        adapterFc1 = l.tensor("mm.model.mlp.1.weight", shuffled, -1);
        int adapterOut = Math.toIntExact(adapterFc1.rows());
        adapterFc2 = l.matrix("mm.model.mlp.2.weight", adapterOut, -1);
        projector = l.matrix("mm.model.fc.weight", adapterFc2.rows(), -1);
        textDim = Math.toIntExact(projector.rows());
        int half = c.headDim() / 2;
        ropeCos = new float[(n + 1) * half];
        ropeSin = new float[(n + 1) * half];
        buildRope(n, half);
    }

    /** Loads the encoder from an mmproj GGUF; closing the encoder closes the file. */
    public static Llama4VisionEncoder load(GgufModel gguf, ComputePool pool) throws GgufFormatException {
        return new Llama4VisionEncoder(VisionConfig.fromGguf(gguf), gguf, pool);
    }

    public VisionConfig config() { return c; }

    /** Width of the embeddings this encoder produces (must equal the text model's). */
    public int textDim() { return textDim; }

    /**
     * Angles per token and rotary pair: the first half of a head's pairs turn with the patch's
     * column + 1, the second half with its row + 1; the class token (last) is not rotated.
     */
    private void buildRope(int n, int half) {
        int quarter = half / 2;
        int side = c.gridSide();
        float[] freq = new float[quarter];
        for (int j = 0; j < quarter; j++) freq[j] = (float) (1.0 / Math.pow(c.ropeTheta(), (2.0 * j) / half));
        for (int t = 0; t <= n; t++) {
            for (int j = 0; j < half; j++) {
                float angle = 0f;
                if (t < n) angle = j < quarter ? (t % side + 1) * freq[j] : (t / side + 1) * freq[j - quarter];
                ropeCos[t * half + j] = (float) StrictMath.cos(angle);
                ropeSin[t * half + j] = (float) StrictMath.sin(angle);
            }
        }
    }

    /**
     * Encodes tiles of normalised pixels ({@code [tiles][3][imageSize][imageSize]}, planar) into
     * {@code [tiles * tokensPerTile][textDim]} embeddings, tiles in order.
     */
    public float[] encode(float[] pixels, int tiles) {
        int s = c.imageSize(), tilePixels = 3 * s * s;
        if (pixels.length != tiles * tilePixels) {
            throw new IllegalArgumentException("expected " + tiles + " tiles of 3x" + s + "x" + s + " pixels, got " + pixels.length + " values");
        }
        // Tiles never see each other, so they are encoded one at a time: the working buffers hold one
        // tile (~50 MB of heap at Llama 4's shape), not up to 16 of them.
        int tileValues = c.tokensPerTile() * textDim;
        float[] embeddings = new float[tiles * tileValues];
        for (int t = 0; t < tiles; t++) {
            float[] tile = encodeTiles(Arrays.copyOfRange(pixels, t * tilePixels, (t + 1) * tilePixels), 1);
            System.arraycopy(tile, 0, embeddings, t * tileValues, tileValues);
        }
        return embeddings;
    }

    private float[] encodeTiles(float[] pixels, int tiles) {
        int h = c.hidden(), n = c.patchesPerTile(), seq = n + 1, rows = tiles * seq;
        float[] x = embedPatches(pixels, tiles);
        layerNormRows(x, rows, h, preLnW, preLnB);

        float[] norm = new float[rows * h], q = new float[rows * h], k = new float[rows * h], v = new float[rows * h];
        float[] attn = new float[rows * h], out = new float[rows * h], up = new float[rows * c.ffn()];
        for (Block b : blocks) {
            System.arraycopy(x, 0, norm, 0, x.length);
            layerNormRows(norm, rows, h, b.ln1W(), b.ln1B());
            project("v_attn_in", b.q(), b.qB(), norm, rows, q);
            project("v_attn_in", b.k(), b.kB(), norm, rows, k);
            project("v_attn_in", b.v(), b.vB(), norm, rows, v);
            rotate(q, tiles);
            rotate(k, tiles);
            attention(q, k, v, attn, tiles);
            project("v_attn_out", b.o(), b.oB(), attn, rows, out);
            for (int i = 0; i < x.length; i++) x[i] += out[i];
            System.arraycopy(x, 0, norm, 0, x.length);
            layerNormRows(norm, rows, h, b.ln2W(), b.ln2B());
            project("v_ffn_up", b.up(), b.upB(), norm, rows, up);
            for (int i = 0; i < up.length; i++) up[i] = gelu(up[i]);
            project("v_ffn_down", b.down(), b.downB(), up, rows, out);
            for (int i = 0; i < x.length; i++) x[i] += out[i];
        }
        layerNormRows(x, rows, h, postLnW, postLnB);

        float[] shuffled = pixelShuffle(x, tiles);
        int tokens = tiles * c.tokensPerTile();
        float[] a1 = new float[tokens * Math.toIntExact(adapterFc1.rows())];
        linear.apply("v_adapter1", adapterFc1, shuffled, tokens, a1);
        for (int i = 0; i < a1.length; i++) a1[i] = gelu(a1[i]);
        float[] a2 = new float[tokens * Math.toIntExact(adapterFc2.rows())];
        linear.apply("v_adapter2", adapterFc2, a1, tokens, a2);
        for (int i = 0; i < a2.length; i++) a2[i] = gelu(a2[i]);
        float[] projected = new float[tokens * textDim];
        linear.apply("v_projector", projector, a2, tokens, projected);
        return projected;
    }

    /** Unfolds each tile into patches (feature order channel, row, column), embeds them, appends the class token, adds positions. */
    private float[] embedPatches(float[] pixels, int tiles) {
        int s = c.imageSize(), p = c.patchSize(), side = c.gridSide(), n = c.patchesPerTile(), h = c.hidden();
        int features = 3 * p * p;
        float[] unfolded = new float[tiles * n * features];
        for (int t = 0; t < tiles; t++) {
            for (int py = 0; py < side; py++) {
                for (int px = 0; px < side; px++) {
                    int base = ((t * n) + py * side + px) * features;
                    for (int ch = 0; ch < 3; ch++) {
                        for (int ky = 0; ky < p; ky++) {
                            int src = ((t * 3 + ch) * s + py * p + ky) * s + px * p;
                            System.arraycopy(pixels, src, unfolded, base + (ch * p + ky) * p, p);
                        }
                    }
                }
            }
        }
        float[] patches = new float[tiles * n * h];
        linear.apply("v_patch", patchEmbedding, unfolded, tiles * n, patches);
        int seq = n + 1;
        float[] x = new float[tiles * seq * h];
        for (int t = 0; t < tiles; t++) {
            System.arraycopy(patches, t * n * h, x, t * seq * h, n * h);
            System.arraycopy(classEmbedding, 0, x, (t * seq + n) * h, h);
            for (int i = 0; i < seq * h; i++) x[t * seq * h + i] += positionEmbedding[i];
        }
        return x;
    }

    private void project(String slot, Tensor w, float[] bias, float[] in, int rows, float[] out) {
        linear.apply(slot, w, in, rows, out);
        int m = bias.length;
        for (int r = 0; r < rows; r++) for (int j = 0; j < m; j++) out[r * m + j] += bias[j];
    }

    /** 2-D RoPE on interleaved pairs of every head of every token. */
    private void rotate(float[] x, int tiles) {
        int h = c.hidden(), hd = c.headDim(), half = hd / 2, seq = c.patchesPerTile() + 1;
        for (int r = 0; r < tiles * seq; r++) {
            int token = r % seq;
            for (int head = 0; head < c.heads(); head++) {
                int off = r * h + head * hd;
                for (int j = 0; j < half; j++) {
                    float cos = ropeCos[token * half + j], sin = ropeSin[token * half + j];
                    float a = x[off + 2 * j], b = x[off + 2 * j + 1];
                    x[off + 2 * j] = a * cos - b * sin;
                    x[off + 2 * j + 1] = a * sin + b * cos;
                }
            }
        }
    }

    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;

    /** Full (non-causal) softmax attention within each tile, per head. */
    private void attention(float[] q, float[] k, float[] v, float[] out, int tiles) {
        int h = c.hidden(), hd = c.headDim(), seq = c.patchesPerTile() + 1;
        float scale = (float) (1.0 / Math.sqrt(hd));
        boolean vector = hd % F8.length() == 0;
        linear.pool().parallelFor(tiles * c.heads(), task -> {
            int tile = task / c.heads(), head = task % c.heads();
            int tileStart = tile * seq;
            float[] scores = new float[seq];
            for (int row = tileStart; row < tileStart + seq; row++) {
                int qOff = row * h + head * hd;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < seq; j++) {
                    int kOff = (tileStart + j) * h + head * hd;
                    scores[j] = (vector ? dot8(q, qOff, k, kOff, hd) : dot(q, qOff, k, kOff, hd)) * scale;
                    max = Math.max(max, scores[j]);
                }
                double sum = 0;
                for (int j = 0; j < seq; j++) {
                    scores[j] = (float) StrictMath.exp(scores[j] - max);
                    sum += scores[j];
                }
                float inv = (float) (1.0 / sum);
                Arrays.fill(out, qOff, qOff + hd, 0f);
                for (int j = 0; j < seq; j++) {
                    float w = scores[j] * inv;
                    int vOff = (tileStart + j) * h + head * hd;
                    if (vector) {
                        FloatVector wv = FloatVector.broadcast(F8, w);
                        for (int d = 0; d < hd; d += F8.length()) {
                            wv.fma(FloatVector.fromArray(F8, v, vOff + d), FloatVector.fromArray(F8, out, qOff + d)).intoArray(out, qOff + d);
                        }
                    } else {
                        for (int d = 0; d < hd; d++) out[qOff + d] = Math.fma(w, v[vOff + d], out[qOff + d]);
                    }
                }
            }
        });
    }

    private static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        float s = 0f;
        for (int d = 0; d < n; d++) s = Math.fma(a[aOff + d], b[bOff + d], s);
        return s;
    }

    private static float dot8(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector acc = FloatVector.zero(F8);
        for (int d = 0; d < n; d += F8.length()) acc = FloatVector.fromArray(F8, a, aOff + d).fma(FloatVector.fromArray(F8, b, bOff + d), acc);
        return VectorMath.sumLanes(acc);
    }

    /**
     * Drops each tile's class token and merges every f×f block of patches into one token,
     * transformers' order: token {@code (r2, c2)} row-major, features
     * {@code [patch(2r2, 2c2), patch(2r2, 2c2+1), patch(2r2+1, 2c2), patch(2r2+1, 2c2+1)]} for f = 2.
     */
    private float[] pixelShuffle(float[] x, int tiles) {
        int h = c.hidden(), side = c.gridSide(), f = c.shuffleFactor(), outSide = side / f, seq = c.patchesPerTile() + 1;
        float[] out = new float[tiles * c.tokensPerTile() * h * f * f];
        int tokenWidth = h * f * f;
        for (int t = 0; t < tiles; t++) {
            for (int r2 = 0; r2 < outSide; r2++) {
                for (int c2 = 0; c2 < outSide; c2++) {
                    int dst = ((t * outSide + r2) * outSide + c2) * tokenWidth;
                    for (int dy = 0; dy < f; dy++) {
                        for (int dx = 0; dx < f; dx++) {
                            int patch = (r2 * f + dy) * side + c2 * f + dx;
                            System.arraycopy(x, (t * seq + patch) * h, out, dst + (dy * f + dx) * h, h);
                        }
                    }
                }
            }
        }
        return out;
    }

    private void layerNormRows(float[] x, int rows, int d, float[] w, float[] b) {
        for (int r = 0; r < rows; r++) {
            int off = r * d;
            double mean = 0;
            for (int i = 0; i < d; i++) mean += x[off + i];
            mean /= d;
            double var = 0;
            for (int i = 0; i < d; i++) {
                double dv = x[off + i] - mean;
                var += dv * dv;
            }
            var /= d;
            float inv = (float) (1.0 / Math.sqrt(var + c.eps()));
            float m = (float) mean;
            for (int i = 0; i < d; i++) x[off + i] = (x[off + i] - m) * inv * w[i] + b[i];
        }
    }

    /** Exact GELU, {@code x/2 · (1 + erf(x/√2))}, as transformers' {@code gelu}. */
    static float gelu(float x) {
        return (float) (0.5 * x * (1.0 + Erf.erf(x / Math.sqrt(2.0))));
    }

    @Override
    public void close() {
        try {
            resources.close();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}

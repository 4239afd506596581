package dev.herd.engine.model.llama4;

import dev.herd.engine.gguf.GgufFormatException;
import dev.herd.engine.gguf.GgufModel;
import dev.herd.engine.model.TensorLoader;
import dev.herd.engine.tensor.Tensor;


/**
 * The tensors of a Llama 4 text model, checked at load: every required tensor present, with the
 * shape the hyper-parameters imply and a type herd has kernels for. Large matrices stay in the
 * mapped file; small vectors (norms, RoPE factors) are copied to the heap as floats.
 */
public final class Llama4Weights {

    public final Tensor tokenEmbedding;
    public final float[] outputNorm;
    /** The output head ({@code output.weight}, or the token embedding when the model ties them). */
    public final Tensor output;
    /** Per-pair RoPE frequency divisors ({@code rope_freqs.weight}), or null (all 1). */
    public final float[] ropeFactors;
    public final Layer[] layers;

    /** One transformer block. Dense layers have {@code gate/up/down}; MoE layers the router, experts and shared expert. */
    public record Layer(float[] attnNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo, float[] ffnNorm,
                        Tensor gate, Tensor up, Tensor down,
                        Tensor router, Tensor gateExperts, Tensor upExperts, Tensor downExperts,
                        Tensor gateShared, Tensor upShared, Tensor downShared) {
        public boolean isMoe() { return router != null; }
    }

    private Llama4Weights(Tensor tokenEmbedding, float[] outputNorm, Tensor output, float[] ropeFactors, Layer[] layers) {
        this.tokenEmbedding = tokenEmbedding;
        this.outputNorm = outputNorm;
        this.output = output;
        this.ropeFactors = ropeFactors;
        this.layers = layers;
    }

    public static Llama4Weights fromGguf(GgufModel model, Llama4Config c) throws GgufFormatException {
        TensorLoader l = new TensorLoader(model, "");
        int d = c.dim();
        Tensor embd = l.matrix("token_embd.weight", d, c.vocabSize());
        float[] outNorm = l.vector("output_norm.weight", d);
        Tensor output = model.tensorOrNull("output.weight") != null ? l.matrix("output.weight", d, c.vocabSize()) : embd;
        float[] ropeFactors = model.tensorOrNull("rope_freqs.weight") != null ? l.vector("rope_freqs.weight", c.headDim() / 2) : null;

        Layer[] layers = new Layer[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            float[] attnNorm = l.vector(p + "attn_norm.weight", d);
            Tensor wq = l.matrix(p + "attn_q.weight", d, c.qDim());
            Tensor wk = l.matrix(p + "attn_k.weight", d, c.kvDim());
            Tensor wv = l.matrix(p + "attn_v.weight", d, c.kvDim());
            Tensor wo = l.matrix(p + "attn_output.weight", c.qDim(), d);
            float[] ffnNorm = l.vector(p + "ffn_norm.weight", d);
            if (c.isMoeLayer(i)) {
                int fe = c.ffnExpert(), e = c.experts();
                layers[i] = new Layer(attnNorm, wq, wk, wv, wo, ffnNorm, null, null, null,
                        l.matrix(p + "ffn_gate_inp.weight", d, e),
                        l.tensor(p + "ffn_gate_exps.weight", d, fe, e),
                        l.tensor(p + "ffn_up_exps.weight", d, fe, e),
                        l.tensor(p + "ffn_down_exps.weight", fe, d, e),
                        l.matrix(p + "ffn_gate_shexp.weight", d, fe),
                        l.matrix(p + "ffn_up_shexp.weight", d, fe),
                        l.matrix(p + "ffn_down_shexp.weight", fe, d));
            } else {
                int f = c.ffnDense();
                layers[i] = new Layer(attnNorm, wq, wk, wv, wo, ffnNorm,
                        l.matrix(p + "ffn_gate.weight", d, f),
                        l.matrix(p + "ffn_up.weight", d, f),
                        l.matrix(p + "ffn_down.weight", f, d),
                        null, null, null, null, null, null, null);
            }
        }
        return new Llama4Weights(embd, outNorm, output, ropeFactors, layers);
    }
}

package dev.herd.engine.model.llama4;

import dev.herd.engine.gguf.GgufFormatException;
import dev.herd.engine.gguf.GgufModel;

/**
 * Hyper-parameters of a Llama 4 text model. From GGUF they are read the way llama.cpp reads them
 * (prefix {@code llama4.}), with llama.cpp's defaults for keys real conversions omit: chunked
 * attention of 8192 with every 4th layer NoPE and attention-temperature tuning, unless
 * {@code attention.sliding_window} is present and 0.
 *
 * @param chunkSize        RoPE layers attend within aligned chunks of this many positions (0 = full causal)
 * @param noRopeStep       layer {@code i} has no RoPE when {@code (i + 1) % noRopeStep == 0} (0 = RoPE everywhere)
 * @param moeStep          layer {@code i} is MoE when {@code (i + 1) % moeStep == 0} (0 = none)
 * @param qkNorm           RMS-normalise Q and K per head (no weight) on RoPE layers
 * @param attnTempScale    NoPE layers scale Q by {@code log(floor((pos + 1) / attnTempFloor) + 1) * attnTempScale + 1}
 * @param attentionScale   the softmax scale ({@code 1/sqrt(headDim)} unless the file says otherwise)
 */
public record Llama4Config(int vocabSize, int contextLength, int dim, int layers, int heads, int kvHeads,
                           int headDim, int ffnDense, int ffnExpert, int experts, int expertsUsed,
                           int moeStep, float ropeTheta, float ropeThetaChunked, float rmsEps,
                           float attentionScale, int noRopeStep, int chunkSize, boolean qkNorm,
                           float attnTempScale, int attnTempFloor) {

    private static final String P = "llama4.";

    public static Llama4Config fromGguf(GgufModel model) throws GgufFormatException {
        GgufModel.Metadata md = model.metadata();
        String arch = md.string("general.architecture");
        if (!arch.equals("llama4")) {
            throw new GgufFormatException(model.path(), "general.architecture is '" + arch + "', herd runs 'llama4'");
        }
        int vocabFallback = (int) model.tensor("token_embd.weight").ne(1);
        int dim = md.int32(P + "embedding_length");
        int layers = md.int32(P + "block_count");
        int heads = md.int32(P + "attention.head_count");
        int kvHeads = md.int32(P + "attention.head_count_kv", heads);
        int headDim = md.int32(P + "attention.key_length", dim / heads);
        int valueDim = md.int32(P + "attention.value_length", headDim);
        int ropeDims = md.int32(P + "rope.dimension_count", headDim);
        int experts = md.int32(P + "expert_count", 0);
        float ropeTheta = md.float32(P + "rope.freq_base", 10000f);

        boolean hasWindow = md.has(P + "attention.sliding_window");
        boolean noChunking = hasWindow && md.int32(P + "attention.sliding_window") == 0;
        int chunkSize = noChunking ? 0 : 8192;
        int noRopeStep = noChunking ? layers : md.int32(P + "attention.sliding_window_pattern", 4);

        Llama4Config c = new Llama4Config(
                md.has(P + "vocab_size") ? md.int32(P + "vocab_size") : vocabFallback,
                md.int32(P + "context_length", 4096),
                dim, layers, heads, kvHeads, headDim,
                md.int32(P + "feed_forward_length", 0),
                md.int32(P + "expert_feed_forward_length", 0),
                experts,
                md.int32(P + "expert_used_count", experts > 0 ? 1 : 0),
                md.int32(P + "interleave_moe_layer_step", 1),
                ropeTheta,
                md.float32(P + "rope.freq_base_swa", ropeTheta),
                md.float32(P + "attention.layer_norm_rms_epsilon", 1e-5f),
                md.has(P + "attention.scale") ? md.float32(P + "attention.scale") : (float) (1.0 / Math.sqrt(headDim)),
                noRopeStep, chunkSize,
                experts != 128, // llama.cpp: only the 128-expert model (Maverick) skips QK norm
                0.1f, 8192);
        c.validate(valueDim, ropeDims, model.path());
        return c;
    }

    private void validate(int valueDim, int ropeDims, java.nio.file.Path where) throws GgufFormatException {
        check(dim > 0 && layers > 0 && heads > 0 && kvHeads > 0 && headDim > 0, where, "dimensions must be positive");
        check(heads % kvHeads == 0, where, "attention.head_count " + heads + " is not a multiple of head_count_kv " + kvHeads);
        check(valueDim == headDim, where, "attention.value_length " + valueDim + " differs from key_length " + headDim + " (not supported)");
        check(ropeDims == headDim, where, "rope.dimension_count " + ropeDims + " differs from the head size " + headDim + " (not supported)");
        check(headDim % 2 == 0, where, "head size " + headDim + " must be even for RoPE");
        check(vocabSize > 0, where, "vocabulary size must be positive");
        check(experts >= 0 && expertsUsed >= 0 && expertsUsed <= experts, where,
                "expert_used_count " + expertsUsed + " must be between 0 and expert_count " + experts);
        check(moeStep >= 0, where, "interleave_moe_layer_step must be >= 0");
        if (experts > 0) check(ffnExpert > 0 && expertsUsed > 0, where, "MoE models need expert_feed_forward_length and expert_used_count");
        check(rmsEps > 0, where, "attention.layer_norm_rms_epsilon must be positive");
    }

    private static void check(boolean ok, java.nio.file.Path where, String what) throws GgufFormatException {
        if (!ok) throw new GgufFormatException(where, what);
    }

    public boolean isMoeLayer(int layer) {
        return experts > 0 && moeStep > 0 && (layer + 1) % moeStep == 0;
    }

    public boolean usesRope(int layer) {
        return noRopeStep <= 0 || (layer + 1) % noRopeStep != 0;
    }

    /** RoPE layers are the chunked ones; NoPE layers attend to everything before them. */
    public boolean isChunked(int layer) {
        return chunkSize > 0 && usesRope(layer);
    }

    public int qDim() { return heads * headDim; }

    public int kvDim() { return kvHeads * headDim; }

    /** Same hyper-parameters with another attention chunk and temperature floor (e.g. from an HF config). */
    public Llama4Config withAttention(int newChunkSize, int newNoRopeStep, float newTempScale, int newTempFloor) {
        return new Llama4Config(vocabSize, contextLength, dim, layers, heads, kvHeads, headDim, ffnDense, ffnExpert,
                experts, expertsUsed, moeStep, ropeTheta, ropeThetaChunked, rmsEps, attentionScale, newNoRopeStep,
                newChunkSize, qkNorm, newTempScale, newTempFloor);
    }
}

package dev.herd.engine.synth;

import dev.herd.engine.chat.ChatTemplates;
import dev.herd.engine.gguf.GgufArray;
import dev.herd.engine.gguf.GgufWriter;
import dev.herd.engine.tensor.GgmlType;
import dev.herd.engine.tokenizer.ByteLevel;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Random-weight Llama 4 GGUF files for benchmarks and tests, written the way llama.cpp's converter
 * and {@code llama-quantize} write them (same keys, tensor names, layouts and per-tensor type
 * choices), with a byte-level BPE vocabulary following the Llama 4 conventions, so that anyone can
 * benchmark without downloading a model.
 */
public final class SyntheticModel {

    /**
     * @param moeStep layer {@code i} is MoE when {@code (i + 1) % moeStep == 0}
     */
    public record Shape(String name, int embd, int layers, int heads, int kvHeads, int headDim, int experts,
                        int expertFfn, int denseFfn, int moeStep, int vocab, int context) {

        /** The benchmark shape: 744 M parameters, about 300 M active per token. */
        public static final Shape BENCH = new Shape("bench", 2048, 8, 16, 4, 128, 16, 1024, 4096, 2, 32000, 8192);
        /** A small shape for tests (runs in milliseconds). */
        public static final Shape TINY = new Shape("tiny", 256, 4, 4, 2, 64, 4, 256, 512, 2, 2000, 4096);

        public static Shape named(String name) {
            return switch (name.toLowerCase(Locale.ROOT)) {
                case "bench" -> BENCH;
                case "tiny" -> TINY;
                default -> throw new IllegalArgumentException("unknown shape '" + name + "' (expected bench or tiny)");
            };
        }

        boolean isMoe(int layer) { return (layer + 1) % moeStep == 0; }

        public long parameters() {
            long attention = (long) embd * heads * headDim * 2 + (long) embd * kvHeads * headDim * 2;
            long total = 2L * vocab * embd + embd;
            for (int l = 0; l < layers; l++) {
                total += attention + 2L * embd;
                total += isMoe(l) ? (long) embd * experts + 3L * embd * expertFfn * (experts + 1) : 3L * embd * denseFfn;
            }
            return total;
        }
    }

    /** The weight-type presets of {@code llama-quantize} herd can write, with llama.cpp's file-type ids. */
    public enum Preset {
        F32(0, GgmlType.F32), F16(1, GgmlType.F16), BF16(32, GgmlType.BF16), Q8_0(7, GgmlType.Q8_0),
        Q4_0(2, GgmlType.Q4_0), Q4_1(3, GgmlType.Q4_1), Q5_0(8, GgmlType.Q5_0), Q5_1(9, GgmlType.Q5_1),
        Q2_K(10, GgmlType.Q2_K), Q3_K_M(12, GgmlType.Q3_K), Q4_K_M(15, GgmlType.Q4_K), Q5_K_M(17, GgmlType.Q5_K),
        Q6_K(18, GgmlType.Q6_K);

        final int fileType;
        final GgmlType base;

        Preset(int fileType, GgmlType base) {
            this.fileType = fileType;
            this.base = base;
        }

        public static Preset named(String name) {
            try {
                return valueOf(name.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown type '" + name + "' (expected one of " + java.util.Arrays.toString(values()) + ")");
            }
        }

        /**
         * The type {@code llama-quantize} gives a tensor under this preset: 1-D tensors and the
         * router stay F32; the output head gets Q6_K for the 4/5-bit and K presets; the _M presets
         * give more bits to attn_v and ffn_down on some layers.
         */
        GgmlType typeOf(String role, int layer, int layers) {
            if (this == F32 || this == F16 || this == BF16 || this == Q8_0 || this == Q6_K) return base;
            if (role.equals("output")) return GgmlType.Q6_K;
            boolean moreBits = layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
            return switch (this) {
                case Q4_K_M, Q5_K_M -> (role.equals("attn_v") || role.equals("ffn_down")) && moreBits ? GgmlType.Q6_K : base;
                case Q3_K_M -> switch (role) {
                    case "attn_v" -> GgmlType.Q5_K;
                    case "attn_output", "ffn_down" -> GgmlType.Q4_K;
                    default -> base;
                };
                case Q2_K -> switch (role) {
                    case "attn_v" -> GgmlType.Q4_K;
                    case "attn_output", "ffn_down" -> GgmlType.Q3_K;
                    default -> base;
                };
                default -> base;
            };
        }
    }

    private static final float SIGMA = 0.02f;
    private static final List<String> SPECIALS = List.of("<|begin_of_text|>", "<|end_of_text|>", "<|header_start|>", "<|header_end|>",
            "<|eot|>", "<|eom|>", "<|python_start|>", "<|python_end|>", "<|finetune_right_pad|>", "<|image_start|>", "<|image_end|>",
            "<|image|>", "<|patch|>", "<|tile_x_separator|>", "<|tile_y_separator|>");

    private SyntheticModel() {}

    /** Writes the model to {@code out}; same shape, preset and seed give the same bytes. */
    public static void write(Shape s, Preset preset, long seed, Path out) throws IOException {
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", "llama4");
        w.putString("general.name", "herd-synth-" + s.name() + "-" + preset.name().toLowerCase(Locale.ROOT));
        w.putUint32("general.file_type", preset.fileType);
        w.putUint32("general.quantization_version", 2);
        w.putUint32("llama4.vocab_size", s.vocab());
        w.putUint32("llama4.context_length", s.context());
        w.putUint32("llama4.embedding_length", s.embd());
        w.putUint32("llama4.block_count", s.layers());
        w.putUint32("llama4.feed_forward_length", s.denseFfn());
        w.putUint32("llama4.attention.head_count", s.heads());
        w.putUint32("llama4.attention.head_count_kv", s.kvHeads());
        w.putUint32("llama4.attention.key_length", s.headDim());
        w.putUint32("llama4.attention.value_length", s.headDim());
        w.putUint32("llama4.rope.dimension_count", s.headDim());
        w.putFloat32("llama4.rope.freq_base", 500000f);
        w.putFloat32("llama4.attention.layer_norm_rms_epsilon", 1e-5f);
        w.putUint32("llama4.expert_count", s.experts());
        w.putUint32("llama4.expert_used_count", 1);
        w.putUint32("llama4.expert_feed_forward_length", s.expertFfn());
        w.putUint32("llama4.interleave_moe_layer_step", s.moeStep());
        vocabulary(w, s.vocab(), seed);

        int d = s.embd(), q = s.heads() * s.headDim(), kv = s.kvHeads() * s.headDim();
        Tensors t = new Tensors(w, preset, s.layers(), seed);
        t.add("token_embd.weight", "token_embd", -1, SIGMA, d, s.vocab());
        for (int l = 0; l < s.layers(); l++) {
            String p = "blk." + l + ".";
            t.ones(p + "attn_norm.weight", d);
            t.add(p + "attn_q.weight", "attn_q", l, SIGMA, d, q);
            t.add(p + "attn_k.weight", "attn_k", l, SIGMA, d, kv);
            t.add(p + "attn_v.weight", "attn_v", l, SIGMA, d, kv);
            t.add(p + "attn_output.weight", "attn_output", l, SIGMA, q, d);
            t.ones(p + "ffn_norm.weight", d);
            if (s.isMoe(l)) {
                t.add(p + "ffn_gate_inp.weight", "router", l, SIGMA, d, s.experts());
                t.add(p + "ffn_gate_exps.weight", "ffn_gate", l, SIGMA, d, s.expertFfn(), s.experts());
                t.add(p + "ffn_up_exps.weight", "ffn_up", l, SIGMA, d, s.expertFfn(), s.experts());
                t.add(p + "ffn_down_exps.weight", "ffn_down", l, SIGMA, s.expertFfn(), d, s.experts());
                t.add(p + "ffn_gate_shexp.weight", "ffn_gate", l, SIGMA, d, s.expertFfn());
                t.add(p + "ffn_up_shexp.weight", "ffn_up", l, SIGMA, d, s.expertFfn());
                t.add(p + "ffn_down_shexp.weight", "ffn_down", l, SIGMA, s.expertFfn(), d);
            } else {
                t.add(p + "ffn_gate.weight", "ffn_gate", l, SIGMA, d, s.denseFfn());
                t.add(p + "ffn_up.weight", "ffn_up", l, SIGMA, d, s.denseFfn());
                t.add(p + "ffn_down.weight", "ffn_down", l, SIGMA, s.denseFfn(), d);
            }
        }
        t.ones("output_norm.weight", d);
        t.add("output.weight", "output", -1, SIGMA, d, s.vocab());
        w.write(out);
    }

    /** Adds tensors with types from the preset and seeded random data streamed at write time. */
    private record Tensors(GgufWriter w, Preset preset, int layers, long seed) {
        void add(String name, String role, int layer, float sigma, long... ne) {
            GgmlType type = role.equals("router") ? GgmlType.F32 : preset.typeOf(role, layer, layers);
            if (ne[0] % type.blockSize() != 0) type = preset == Preset.F32 ? GgmlType.F32 : GgmlType.F16;
            long rowBytes = type.rowBytes(ne[0]);
            long rows = 1;
            for (int i = 1; i < ne.length; i++) rows *= ne[i];
            GgmlType finalType = type;
            long total = rows;
            SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ name.hashCode());
            w.addTensor(name, type, ne, (OutputStream out) -> {
                byte[] row = new byte[Math.toIntExact(rowBytes)];
                for (long i = 0; i < total; i++) {
                    RandomBlocks.fill(finalType, row, row.length, sigma, r);
                    out.write(row);
                }
            });
        }

        void ones(String name, int n) {
            byte[] data = new byte[n * 4];
            for (int i = 0; i < n; i++) RandomBlocks.putF32(data, i * 4, 1f);
            w.addTensor(name, GgmlType.F32, new long[]{n}, data);
        }
    }

    /**
     * A byte-level BPE vocabulary of {@code size} tokens: the 256 byte tokens, seeded random merges
     * of existing tokens, then the Llama 4 special tokens (as {@code tokenizer.ggml.pre = llama4}).
     */
    static void vocabulary(GgufWriter w, int size, long seed) {
        int merges = size - 256 - SPECIALS.size();
        if (merges < 0) throw new IllegalArgumentException("vocabulary of " + size + " is too small");
        List<String> tokens = new ArrayList<>(size);
        for (int b = 0; b < 256; b++) tokens.add(ByteLevel.encode(new byte[]{(byte) b}));
        Set<String> known = new HashSet<>(tokens);
        List<String> rules = new ArrayList<>(merges);
        SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
        // Merges favour letters and space so the vocabulary looks like text; any merge list is valid BPE.
        byte[] common = " etaoinshrdlucmfwypvbgkjqxzETAOINSHRDLUCMFWYPVBGKJQXZ0123456789.,".getBytes(StandardCharsets.US_ASCII);
        List<String> pool = new ArrayList<>();
        for (byte c : common) pool.add(ByteLevel.encode(new byte[]{c}));
        while (rules.size() < merges) {
            String a = pool.get(r.nextInt(pool.size())), b = pool.get(r.nextInt(pool.size()));
            String merged = a + b;
            if (merged.length() > 16 || !known.add(merged)) continue;
            rules.add(a + " " + b);
            tokens.add(merged);
            pool.add(merged);
        }
        int[] types = new int[size];
        java.util.Arrays.fill(types, 0, tokens.size(), 1);
        for (String sp : SPECIALS) {
            types[tokens.size()] = 3;
            tokens.add(sp);
        }
        int base = 256 + merges;
        w.putString("tokenizer.ggml.model", "gpt2");
        w.putString("tokenizer.ggml.pre", "llama4");
        w.putArray("tokenizer.ggml.tokens", GgufArray.ofStrings(tokens.toArray(String[]::new)));
        w.putArray("tokenizer.ggml.token_type", GgufArray.ofInt32(types));
        w.putArray("tokenizer.ggml.merges", GgufArray.ofStrings(rules.toArray(String[]::new)));
        w.putUint32("tokenizer.ggml.bos_token_id", base + SPECIALS.indexOf("<|begin_of_text|>"));
        w.putUint32("tokenizer.ggml.eos_token_id", base + SPECIALS.indexOf("<|eot|>"));
        w.putUint32("tokenizer.ggml.eot_token_id", base + SPECIALS.indexOf("<|eot|>"));
        w.putUint32("tokenizer.ggml.eom_token_id", base + SPECIALS.indexOf("<|eom|>"));
        w.putUint32("tokenizer.ggml.padding_token_id", base + SPECIALS.indexOf("<|finetune_right_pad|>"));
        w.putBool("tokenizer.ggml.add_bos_token", true);
        w.putBool("tokenizer.ggml.add_eos_token", false);
        w.putString("tokenizer.chat_template", ChatTemplates.LLAMA4_DEFAULT);
    }
}

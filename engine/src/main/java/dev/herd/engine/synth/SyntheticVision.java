package dev.herd.engine.synth;

import dev.herd.engine.gguf.GgufArray;
import dev.herd.engine.gguf.GgufWriter;
import dev.herd.engine.tensor.GgmlType;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * A random-weight Llama 4 vision projector (mmproj GGUF, {@code clip.projector_type = llama4}, keys
 * and tensor names as llama.cpp's converter writes them), to time image encoding at the released
 * models' size without downloading them.
 */
public final class SyntheticVision {

    /**
     * @param adapterDim the adapter's width (vision_output_dim)
     * @param textDim    the text model's embedding width the projector maps into
     */
    public record Shape(String name, int imageSize, int patchSize, int hidden, int layers, int heads, int ffn,
                        int adapterDim, int textDim) {

        /** Llama 4 Scout/Maverick's vision tower and projector (into a 5120-wide text model). */
        public static final Shape LLAMA4 = new Shape("vision", 336, 14, 1408, 34, 16, 5632, 4096, 5120);
        /** A small tower that pairs with {@link SyntheticModel.Shape#TINY} (256-wide text). */
        public static final Shape TINY = new Shape("vision-tiny", 56, 14, 64, 2, 4, 128, 96, 256);

        public static Shape named(String name) {
            return switch (name.toLowerCase(Locale.ROOT)) {
                case "vision" -> LLAMA4;
                case "vision-tiny" -> TINY;
                default -> throw new IllegalArgumentException("unknown vision shape '" + name + "' (expected vision or vision-tiny)");
            };
        }
    }

    private SyntheticVision() {}

    /** Writes the projector with matrices of {@code type} (F32, F16, BF16 or Q8_0) and F32 vectors. */
    public static void write(Shape s, GgmlType type, long seed, Path out) throws IOException {
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", "clip");
        w.putString("general.type", "mmproj");
        w.putString("general.name", "herd-synth-" + s.name());
        w.putUint32("general.file_type", type == GgmlType.F32 ? 0 : 1);
        w.putBool("clip.has_vision_encoder", true);
        w.putString("clip.projector_type", "llama4");
        w.putUint32("clip.vision.projection_dim", s.textDim());
        w.putUint32("clip.vision.image_size", s.imageSize());
        w.putUint32("clip.vision.patch_size", s.patchSize());
        w.putUint32("clip.vision.embedding_length", s.hidden());
        w.putUint32("clip.vision.feed_forward_length", s.ffn());
        w.putUint32("clip.vision.block_count", s.layers());
        w.putUint32("clip.vision.attention.head_count", s.heads());
        w.putArray("clip.vision.image_mean", GgufArray.ofFloat32(0.5f, 0.5f, 0.5f));
        w.putArray("clip.vision.image_std", GgufArray.ofFloat32(0.5f, 0.5f, 0.5f));
        w.putFloat32("clip.vision.attention.layer_norm_epsilon", 1e-5f);
        w.putUint32("clip.vision.projector.scale_factor", 2);
        w.putBool("clip.use_gelu", true);

        int h = s.hidden(), side = s.imageSize() / s.patchSize();
        Writer t = new Writer(w, type, seed);
        t.matrix("mm.model.fc.weight", s.adapterDim(), s.textDim());
        t.vector("v.class_embd", h, 0.02f, 0f);
        t.vector("v.post_ln.bias", h, 0f, 0f);
        t.vector("v.post_ln.weight", h, 0f, 1f);
        t.vector("v.pre_ln.bias", h, 0f, 0f);
        t.vector("v.pre_ln.weight", h, 0f, 1f);
        for (int l = 0; l < s.layers(); l++) {
            String p = "v.blk." + l + ".";
            t.vector(p + "ln1.bias", h, 0f, 0f);
            t.vector(p + "ln1.weight", h, 0f, 1f);
            t.matrix(p + "ffn_up.weight", h, s.ffn());
            t.vector(p + "ffn_up.bias", s.ffn(), 0.02f, 0f);
            t.matrix(p + "ffn_down.weight", s.ffn(), h);
            t.vector(p + "ffn_down.bias", h, 0.02f, 0f);
            t.vector(p + "ln2.bias", h, 0f, 0f);
            t.vector(p + "ln2.weight", h, 0f, 1f);
            for (String m : new String[]{"attn_k", "attn_out", "attn_q", "attn_v"}) {
                t.matrix(p + m + ".weight", h, h);
                t.vector(p + m + ".bias", h, 0.02f, 0f);
            }
        }
        t.matrix("v.patch_embd.weight", 3L * s.patchSize() * s.patchSize(), h);
        t.f32("v.position_embd.weight", 0.02f, h, side * side + 1);
        t.matrix("mm.model.mlp.1.weight", 4L * h, s.adapterDim());
        t.matrix("mm.model.mlp.2.weight", s.adapterDim(), s.adapterDim());
        w.write(out);
    }

    private record Writer(GgufWriter w, GgmlType type, long seed) {
        void matrix(String name, long cols, long rows) {
            GgmlType t = cols % type.blockSize() == 0 ? type : GgmlType.F16;
            add(name, t, 0.02f, cols, rows);
        }

        void vector(String name, int n, float sigma, float mean) {
            byte[] data = new byte[n * 4];
            SplittableRandom r = new SplittableRandom(seed ^ name.hashCode());
            for (int i = 0; i < n; i++) RandomBlocks.putF32(data, i * 4, mean + (float) ((r.nextDouble() * 2 - 1) * Math.sqrt(3) * sigma));
            w.addTensor(name, GgmlType.F32, new long[]{n}, data);
        }

        void f32(String name, float sigma, long... ne) {
            add(name, GgmlType.F32, sigma, ne);
        }

        private void add(String name, GgmlType t, float sigma, long... ne) {
            long rowBytes = t.rowBytes(ne[0]);
            long rows = 1;
            for (int i = 1; i < ne.length; i++) rows *= ne[i];
            long total = rows;
            SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ name.hashCode());
            w.addTensor(name, t, ne, (OutputStream out) -> {
                byte[] row = new byte[Math.toIntExact(rowBytes)];
                for (long i = 0; i < total; i++) {
                    RandomBlocks.fill(t, row, row.length, sigma, r);
                    out.write(row);
                }
            });
        }
    }
}

package dev.herd.engine.model.llama4.vision;

import dev.herd.engine.gguf.GgufFormatException;
import dev.herd.engine.gguf.GgufModel;

/**
 * Hyper-parameters of the Llama 4 vision tower and projector, from an mmproj GGUF
 * ({@code clip.projector_type = llama4}, keys as llama.cpp's converter writes them).
 *
 * @param imageSize     tile side in pixels (336 for the released models)
 * @param patchSize     patch side in pixels (14)
 * @param hidden        encoder width
 * @param shuffleFactor pixel-shuffle merge factor per side (2: 2×2 patches become one token)
 * @param maxTiles      most tiles per image (transformers' {@code max_patches}, 16 unless the file says otherwise)
 */
public record VisionConfig(int imageSize, int patchSize, int hidden, int heads, int ffn, int layers,
                           float eps, int shuffleFactor, int projectionDim, float[] mean, float[] std,
                           float ropeTheta, int maxTiles) {

    public static VisionConfig fromGguf(GgufModel gguf) throws GgufFormatException {
        GgufModel.Metadata md = gguf.metadata();
        String arch = md.string("general.architecture");
        String projector = md.string("clip.projector_type", "");
        if (!arch.equals("clip") || !projector.equals("llama4")) {
            throw new GgufFormatException(gguf.path(), "is not a Llama 4 vision projector (general.architecture = '" + arch
                    + "', clip.projector_type = '" + projector + "'; expected 'clip' and 'llama4')");
        }
        VisionConfig c = new VisionConfig(
                md.int32("clip.vision.image_size"),
                md.int32("clip.vision.patch_size"),
                md.int32("clip.vision.embedding_length"),
                md.int32("clip.vision.attention.head_count"),
                md.int32("clip.vision.feed_forward_length"),
                md.int32("clip.vision.block_count"),
                md.float32("clip.vision.attention.layer_norm_epsilon", 1e-5f),
                md.int32("clip.vision.projector.scale_factor", 2),
                md.int32("clip.vision.projection_dim"),
                md.has("clip.vision.image_mean") ? md.floatArray("clip.vision.image_mean") : new float[]{0.5f, 0.5f, 0.5f},
                md.has("clip.vision.image_std") ? md.floatArray("clip.vision.image_std") : new float[]{0.5f, 0.5f, 0.5f},
                10000f,
                md.int32("clip.vision.max_tiles", 16));
        if (c.imageSize % c.patchSize != 0) throw new GgufFormatException(gguf.path(), "image_size " + c.imageSize + " is not a multiple of patch_size " + c.patchSize);
        int side = c.imageSize / c.patchSize;
        if (side % c.shuffleFactor != 0) throw new GgufFormatException(gguf.path(), side + " patches per side do not divide by the pixel-shuffle factor " + c.shuffleFactor);
        if (c.hidden % c.heads != 0 || (c.hidden / c.heads) % 4 != 0) {
            throw new GgufFormatException(gguf.path(), "vision head size " + c.hidden + "/" + c.heads + " must be a multiple of 4 for 2-D RoPE");
        }
        if (c.mean.length != 3 || c.std.length != 3) throw new GgufFormatException(gguf.path(), "clip.vision.image_mean/std must have 3 values");
        return c;
    }

    /** Patches per tile side. */
    public int gridSide() { return imageSize / patchSize; }

    /** Patches per tile (without the class token). */
    public int patchesPerTile() { return gridSide() * gridSide(); }

    /** Image tokens one tile becomes after pixel shuffle. */
    public int tokensPerTile() { return patchesPerTile() / (shuffleFactor * shuffleFactor); }

    public int headDim() { return hidden / heads; }
}

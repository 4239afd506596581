package dev.herd.engine.model.llama4.vision;

import dev.herd.engine.image.ImageDecoder;
import dev.herd.engine.image.RgbImage;
import dev.herd.engine.runtime.VisionModel;

import java.util.function.ToIntFunction;

/**
 * Images in, image tokens and their embeddings out: decoding and tiling (cheap, done on the
 * caller's thread by {@link #prepare}), the token layout, and the encoder (compute-heavy, run by
 * the engine's scheduler with {@link #embed}).
 */
public final class Llama4Vision implements VisionModel {

    private final Llama4VisionEncoder encoder;
    private final Llama4ImagePreprocessor preprocessor;
    private final ImageDecoder decoder = new ImageDecoder();

    public Llama4Vision(Llama4VisionEncoder encoder) {
        this.encoder = encoder;
        VisionConfig c = encoder.config();
        this.preprocessor = new Llama4ImagePreprocessor(new Llama4ImagePreprocessor.Config(
                c.imageSize(), c.maxTiles(), c.mean(), c.std(), 1.0 / 255.0, false));
    }

    /** An image decoded and cut into normalised tiles, ready for the encoder. */
    public record Tiles(TileGrid grid, float[] pixels, int tiles) {}

    @Override
    public PreparedImage prepare(byte[] encoded, String name, ToIntFunction<String> specialTokenId) {
        Tiles tiles = prepare(decoder.decode(encoded, name));
        int[] layout = layoutIds(tiles, specialTokenId);
        int patch = specialTokenId.applyAsInt(Llama4ImageLayout.PATCH);
        return new PreparedImage() {
            @Override public int[] layoutIds() { return layout; }
            @Override public int embeddingToken() { return patch; }
            @Override public float[] embed() { return Llama4Vision.this.embed(tiles); }
        };
    }

    public Llama4VisionEncoder encoder() { return encoder; }

    public int tokensPerTile() { return encoder.config().tokensPerTile(); }

    /** Width of the embeddings (the text model's). */
    @Override
    public int embeddingDim() { return encoder.textDim(); }

    /** Tiles an image. */
    public Tiles prepare(RgbImage image) {
        Llama4ImagePreprocessor.Preprocessed p = preprocessor.preprocess(image);
        int tileValues = 3 * p.tileSize() * p.tileSize();
        float[] pixels = new float[p.tiles().length * tileValues];
        for (int t = 0; t < p.tiles().length; t++) System.arraycopy(p.tiles()[t], 0, pixels, t * tileValues, tileValues);
        return new Tiles(p.grid(), pixels, p.tiles().length);
    }

    /** The image's tokens in the prompt ({@code <|image_start|> … <|image_end|>}). */
    public int[] layoutIds(Tiles image, ToIntFunction<String> specialTokenId) {
        return Llama4ImageLayout.tokenIds(image.grid(), tokensPerTile(), specialTokenId);
    }

    /** One embedding per {@code <|patch|>} token of the layout, in order ({@code [tokens][embeddingDim]}). */
    public float[] embed(Tiles image) {
        return encoder.encode(image.pixels(), image.tiles());
    }

    @Override
    public void close() {
        encoder.close();
    }
}

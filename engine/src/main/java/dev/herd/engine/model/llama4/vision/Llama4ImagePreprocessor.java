package dev.herd.engine.model.llama4.vision;

import dev.herd.engine.image.AntialiasedBilinearResize;
import dev.herd.engine.image.RgbImage;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Llama 4's image preprocessing, matching transformers' {@code Llama4ImageProcessor} (torchvision
 * backend) value for value:
 * <ol>
 *   <li>choose the canvas — a grid of up to {@code maxTiles} tiles — that fits the image's aspect
 *       ratio best ({@link #chooseGrid});</li>
 *   <li>resize the image into it without distortion, upscaling no further than one tile per side
 *       (antialiased bilinear on 8-bit samples, {@link AntialiasedBilinearResize}), and pad right and
 *       bottom with black;</li>
 *   <li>cut the canvas into tiles row by row; when there is more than one, append a global tile: the
 *       whole image resized (with distortion) to one tile;</li>
 *   <li>rescale and normalise in bfloat16 as Meta's implementation does: every intermediate is rounded
 *       to bf16, so the outputs are bf16 values (the padding becomes {@code (0 - mean) / std}).</li>
 * </ol>
 * Instances are immutable and thread-safe.
 */
public final class Llama4ImagePreprocessor {

    /**
     * @param tileSize          side of a square tile in pixels ({@code size.height}, 336 for the released models)
     * @param maxTiles          most local tiles per image ({@code max_patches}, 16)
     * @param mean              per-channel mean (R, G, B)
     * @param std               per-channel standard deviation (R, G, B)
     * @param rescaleFactor     multiplies the 0..255 samples first ({@code rescale_factor}, 1/255)
     * @param resizeToMaxCanvas pick the canvas that allows the largest upscaling instead of the smallest
     */
    public record Config(int tileSize, int maxTiles, float[] mean, float[] std, double rescaleFactor, boolean resizeToMaxCanvas) {

        public Config {
            if (tileSize <= 0) throw new IllegalArgumentException("tileSize must be positive, got " + tileSize);
            if (maxTiles <= 0) throw new IllegalArgumentException("maxTiles must be positive, got " + maxTiles);
            if (mean == null || mean.length != 3) throw new IllegalArgumentException("mean must have 3 values (R, G, B)");
            if (std == null || std.length != 3) throw new IllegalArgumentException("std must have 3 values (R, G, B)");
            for (float s : std) {
                if (s == 0f || !Float.isFinite(s)) throw new IllegalArgumentException("std values must be finite and non-zero, got " + s);
            }
            if (!(rescaleFactor > 0) || !Double.isFinite(rescaleFactor)) {
                throw new IllegalArgumentException("rescaleFactor must be positive, got " + rescaleFactor);
            }
            mean = mean.clone();
            std = std.clone();
        }

        /** Llama 4's published settings (mean and std 0.5, rescale 1/255, up to 16 tiles) for a given tile size. */
        public static Config llama4(int tileSize) {
            return new Config(tileSize, 16, new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f}, 1.0 / 255.0, false);
        }

        @Override public float[] mean() { return mean.clone(); }

        @Override public float[] std() { return std.clone(); }
    }

    /**
     * The encoder input for one image.
     *
     * @param grid  the local tile grid
     * @param tiles {@link TileGrid#totalTiles()} tiles, local ones row by row then the global one;
     *              each is channel-major {@code [3][tileSize][tileSize]} flattened
     *              (index {@code (c * tileSize + y) * tileSize + x})
     */
    public record Preprocessed(TileGrid grid, int tileSize, float[][] tiles) {}

    private final Config config;
    /** Canvases (height, width) in transformers' order: ties on area go to the first. */
    private final int[][] canvases;
    /** bf16-rounded normalised value of every 8-bit sample, per channel. */
    private final float[][] normalised;

    public Llama4ImagePreprocessor(Config config) {
        this.config = Objects.requireNonNull(config, "config");
        this.canvases = supportedCanvases(config.maxTiles(), config.tileSize());
        this.normalised = new float[3][256];
        for (int c = 0; c < 3; c++) {
            // torchvision turns mean/std into tensors of the image's dtype (bf16) before subtracting and dividing.
            float mean = bf16(config.mean[c]), std = bf16(config.std[c]);
            float rescale = (float) config.rescaleFactor();   // a Python float scalar multiplies in f32 opmath
            for (int v = 0; v < 256; v++) {
                float x = bf16(v * rescale);
                x = bf16(x - mean);
                normalised[c][v] = bf16(x / std);
            }
        }
    }

    public Config config() { return config; }

    public Preprocessed preprocess(RgbImage image) {
        int h = image.height(), w = image.width();
        int tile = config.tileSize();
        int[] canvas = bestCanvas(h, w);
        int[] size = resizedSize(h, w, canvas);
        RgbImage resized = AntialiasedBilinearResize.resize(image, size[1], size[0]);
        TileGrid grid = new TileGrid(canvas[0] / tile, canvas[1] / tile);
        float[][] tiles = new float[grid.totalTiles()][];
        for (int r = 0; r < grid.rows(); r++) {
            for (int c = 0; c < grid.cols(); c++) {
                tiles[r * grid.cols() + c] = normaliseTile(resized, c * tile, r * tile);
            }
        }
        if (grid.hasGlobalTile()) {
            tiles[grid.localTiles()] = normaliseTile(AntialiasedBilinearResize.resize(image, tile, tile), 0, 0);
        }
        return new Preprocessed(grid, tile, tiles);
    }

    /** The tile grid an image of {@code height}×{@code width} is cut into. */
    public TileGrid chooseGrid(int height, int width) {
        int[] canvas = bestCanvas(height, width);
        return new TileGrid(canvas[0] / config.tileSize(), canvas[1] / config.tileSize());
    }

    /** The tile at ({@code x0}, {@code y0}) of {@code image}, zero-padded beyond its edge, normalised. */
    private float[] normaliseTile(RgbImage image, int x0, int y0) {
        int t = config.tileSize();
        float[] out = new float[3 * t * t];
        for (int c = 0; c < 3; c++) {
            float[] lut = normalised[c];
            for (int y = 0; y < t; y++) {
                for (int x = 0; x < t; x++) {
                    int sx = x0 + x, sy = y0 + y;
                    int v = sx < image.width() && sy < image.height() ? image.sample(sx, sy, c) : 0;
                    out[(c * t + y) * t + x] = lut[v];
                }
            }
        }
        return out;
    }

    /**
     * transformers' {@code get_best_fit}: per canvas the scale that fits the image without distortion
     * (in float32, as the torch tensors are); the smallest scale ≥ 1 (largest, with resizeToMaxCanvas),
     * else the largest below 1; among canvases with that scale the smallest area.
     */
    private int[] bestCanvas(int height, int width) {
        float[] scales = new float[canvases.length];
        float selected = Float.NaN;
        boolean upscaling = false;
        for (int i = 0; i < canvases.length; i++) {
            scales[i] = Math.min((float) canvases[i][0] / height, (float) canvases[i][1] / width);
            if (scales[i] >= 1f) {
                if (!upscaling || (config.resizeToMaxCanvas() ? scales[i] > selected : scales[i] < selected)) selected = scales[i];
                upscaling = true;
            }
        }
        if (!upscaling) {
            for (float s : scales) {
                if (Float.isNaN(selected) || s > selected) selected = s;
            }
        }
        int[] best = null;
        for (int i = 0; i < canvases.length; i++) {
            if (scales[i] == selected && (best == null || (long) canvases[i][0] * canvases[i][1] < (long) best[0] * best[1])) {
                best = canvases[i];
            }
        }
        return best;
    }

    /**
     * The size (height, width) the image is resized to inside {@code canvas}: transformers caps the
     * target at {@code max(image side, tile)} per side, then {@code get_max_res_without_distortion}.
     * A side capped by the canvas is a torch tensor there, which makes its scale float32 and the
     * comparison and product float32 too; otherwise they are Python doubles. The difference decides
     * whole pixels (300×200 into 280×168: 300·0.84f floors to 251, 300·0.84 to 252).
     */
    private int[] resizedSize(int height, int width, int[] canvas) {
        int tile = config.tileSize();
        int targetH, targetW;
        boolean floatH, floatW;
        if (config.resizeToMaxCanvas()) {
            targetH = canvas[0];
            targetW = canvas[1];
            floatH = floatW = true;
        } else {
            int capH = Math.max(height, tile), capW = Math.max(width, tile);
            floatH = canvas[0] < capH;
            floatW = canvas[1] < capW;
            targetH = Math.min(capH, canvas[0]);
            targetW = Math.min(capW, canvas[1]);
        }
        double scaleW = floatW ? (float) targetW / width : (double) targetW / width;
        double scaleH = floatH ? (float) targetH / height : (double) targetH / height;
        boolean widthLimits = floatW || floatH ? (float) scaleW < (float) scaleH : scaleW < scaleH;
        int newH, newW;
        if (widthLimits) {
            newW = targetW;
            newH = Math.min(floorProduct(height, scaleW, floatW), targetH);
        } else {
            newH = targetH;
            newW = Math.min(floorProduct(width, scaleH, floatH), targetW);
        }
        return new int[] {Math.max(newH, 1), Math.max(newW, 1)};
    }

    private static int floorProduct(int side, double scale, boolean inFloat) {
        return (int) Math.floor(inFloat ? side * (float) scale : side * scale);
    }

    /**
     * transformers' {@code find_supported_resolutions}: for chunk counts from {@code maxTiles} down to
     * 1, every factorisation (rows, cols) with rows ascending, grouped by aspect ratio in order of first
     * appearance; sides in pixels.
     */
    static int[][] supportedCanvases(int maxTiles, int tileSize) {
        Map<Double, List<int[]>> byRatio = new LinkedHashMap<>();
        for (int chunks = maxTiles; chunks >= 1; chunks--) {
            for (int rows = 1; rows <= chunks; rows++) {
                if (chunks % rows != 0) continue;
                int cols = chunks / rows;
                byRatio.computeIfAbsent((double) rows / cols, k -> new ArrayList<>()).add(new int[] {rows * tileSize, cols * tileSize});
            }
        }
        return byRatio.values().stream().flatMap(List::stream).toArray(int[][]::new);
    }

    /** Round to the nearest bfloat16 (ties to even), as a float. */
    static float bf16(float x) {
        int bits = Float.floatToRawIntBits(x);
        bits += 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(bits & 0xFFFF0000);
    }
}

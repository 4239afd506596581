package dev.herd.engine.model.llama4.vision;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.function.ToIntFunction;

/**
 * The tokens an image occupies in a Llama 4 prompt, as transformers' {@code Llama4Processor}
 * ({@code _prompt_split_image}) writes them:
 * {@code <|image_start|>}, then for a multi-tile image row by row each tile's {@code <|patch|>}×N with
 * {@code <|tile_x_separator|>} between the tiles of a row and {@code <|tile_y_separator|>} after each
 * row; then {@code <|image|>} and the global tile's {@code <|patch|>}×N; then {@code <|image_end|>}.
 * A single-tile image has no separators: its one tile is the one after {@code <|image|>}. The image
 * embeddings replace the {@code <|patch|>} positions in order (local tiles row by row, global last).
 */
public final class Llama4ImageLayout {
    private Llama4ImageLayout() {}

    public static final String IMAGE_START = "<|image_start|>";
    public static final String IMAGE_END = "<|image_end|>";
    /** Both the placeholder a prompt carries per image and the marker before the global tile. */
    public static final String IMAGE = "<|image|>";
    public static final String PATCH = "<|patch|>";
    public static final String TILE_X_SEPARATOR = "<|tile_x_separator|>";
    public static final String TILE_Y_SEPARATOR = "<|tile_y_separator|>";

    /**
     * Embedding tokens per tile as the processor counts them:
     * {@code (tileSize / patchSize)² / round(1 / pixelShuffleRatio²)}, 144 for 336-pixel tiles,
     * 14-pixel patches and ratio 0.5.
     */
    public static int tokensPerTile(int tileSize, int patchSize, double pixelShuffleRatio) {
        if (tileSize <= 0 || patchSize <= 0 || tileSize % patchSize != 0) {
            throw new IllegalArgumentException("tile size " + tileSize + " must be a positive multiple of the patch size " + patchSize);
        }
        if (!(pixelShuffleRatio > 0 && pixelShuffleRatio <= 1)) {
            throw new IllegalArgumentException("pixel shuffle ratio must be in (0, 1], got " + pixelShuffleRatio);
        }
        int side = tileSize / patchSize;
        int downsample = (int) Math.round(1.0 / (pixelShuffleRatio * pixelShuffleRatio));
        return side * side / downsample;
    }

    /** The token texts of one image, in order. */
    public static List<String> tokens(TileGrid grid, int tokensPerTile) {
        if (tokensPerTile <= 0) throw new IllegalArgumentException("tokensPerTile must be positive, got " + tokensPerTile);
        List<String> out = new ArrayList<>(grid.totalTiles() * tokensPerTile + grid.rows() * grid.cols() + 3);
        out.add(IMAGE_START);
        if (grid.hasGlobalTile()) {
            for (int r = 0; r < grid.rows(); r++) {
                for (int c = 0; c < grid.cols(); c++) {
                    out.addAll(Collections.nCopies(tokensPerTile, PATCH));
                    if (c < grid.cols() - 1) out.add(TILE_X_SEPARATOR);
                }
                out.add(TILE_Y_SEPARATOR);
            }
        }
        out.add(IMAGE);
        out.addAll(Collections.nCopies(tokensPerTile, PATCH));
        out.add(IMAGE_END);
        return out;
    }

    /** The layout as one string (what the processor splices into the prompt text). */
    public static String text(TileGrid grid, int tokensPerTile) {
        return String.join("", tokens(grid, tokensPerTile));
    }

    /** {@code {"tiles":[rows,cols],"tokens":["<|image_start|>",…]}}, what {@code herd embed-image --layout} prints. */
    public static String toJson(TileGrid grid, int tokensPerTile) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.putArray("tiles").add(grid.rows()).add(grid.cols());
        ArrayNode tokens = root.putArray("tokens");
        tokens(grid, tokensPerTile).forEach(tokens::add);
        return root.toString();
    }

    /**
     * The layout as token ids.
     *
     * @param specialTokenId the id of a special-token text, or a negative number when the vocabulary lacks it
     *                       (e.g. {@code tokenizer::specialTokenId})
     */
    public static int[] tokenIds(TileGrid grid, int tokensPerTile, ToIntFunction<String> specialTokenId) {
        Objects.requireNonNull(specialTokenId, "specialTokenId");
        List<String> tokens = tokens(grid, tokensPerTile);
        int[] ids = new int[tokens.size()];
        String previous = null;
        int previousId = -1;
        for (int i = 0; i < ids.length; i++) {
            String t = tokens.get(i);
            if (!t.equals(previous)) {
                previousId = specialTokenId.applyAsInt(t);
                if (previousId < 0) throw new IllegalArgumentException("the vocabulary has no special token " + t + " needed for images");
                previous = t;
            }
            ids[i] = previousId;
        }
        return ids;
    }

    /**
     * Replaces each {@code <|image|>} placeholder of {@code prompt}, in order, by the layout of the
     * corresponding image, as the processor does before tokenizing.
     *
     * @throws IllegalArgumentException when the number of placeholders differs from the number of images
     */
    public static String expandPrompt(String prompt, List<TileGrid> grids, int tokensPerTile) {
        Objects.requireNonNull(prompt, "prompt");
        int placeholders = countPlaceholders(prompt);
        if (placeholders != grids.size()) {
            throw new IllegalArgumentException("the prompt has " + placeholders + " " + IMAGE + " placeholder(s) but "
                    + grids.size() + " image(s) were given");
        }
        StringBuilder sb = new StringBuilder(prompt.length() + grids.size() * 64);
        int from = 0;
        for (TileGrid grid : grids) {
            int at = prompt.indexOf(IMAGE, from);
            sb.append(prompt, from, at).append(text(grid, tokensPerTile));
            from = at + IMAGE.length();
        }
        return sb.append(prompt, from, prompt.length()).toString();
    }

    /** Non-overlapping occurrences of {@code <|image|>}, as Python's {@code str.count}. */
    public static int countPlaceholders(String prompt) {
        int n = 0;
        for (int at = prompt.indexOf(IMAGE); at >= 0; at = prompt.indexOf(IMAGE, at + IMAGE.length())) n++;
        return n;
    }
}

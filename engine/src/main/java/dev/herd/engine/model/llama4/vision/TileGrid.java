package dev.herd.engine.model.llama4.vision;

/**
 * How an image is cut into tiles: {@code rows} × {@code cols} local tiles, read row by row, plus a
 * global (thumbnail) tile after them when there is more than one.
 */
public record TileGrid(int rows, int cols) {

    public TileGrid {
        if (rows <= 0 || cols <= 0) throw new IllegalArgumentException("tile grid must be positive, got " + rows + "x" + cols);
    }

    public int localTiles() { return rows * cols; }

    public boolean hasGlobalTile() { return rows * cols > 1; }

    /** Tiles fed to the vision encoder: the local ones and the global one when there is one. */
    public int totalTiles() { return localTiles() + (hasGlobalTile() ? 1 : 0); }
}

package dev.herd.engine.image;

/** Applies an EXIF orientation (1..8) so the image is the right way up, as Pillow's {@code exif_transpose} does. */
final class Orientation {
    private Orientation() {}

    static RgbImage apply(RgbImage image, int orientation) {
        if (orientation <= 1 || orientation > 8) return image;
        int w = image.width(), h = image.height();
        boolean swapsSides = orientation >= 5;
        int outW = swapsSides ? h : w, outH = swapsSides ? w : h;
        byte[] src = image.pixels();
        byte[] out = new byte[src.length];
        for (int y = 0; y < outH; y++) {
            for (int x = 0; x < outW; x++) {
                // (sx, sy): the stored pixel that shows at (x, y).
                int sx, sy;
                switch (orientation) {
                    case 2 -> { sx = w - 1 - x; sy = y; }           // mirrored left-right
                    case 3 -> { sx = w - 1 - x; sy = h - 1 - y; }   // rotated 180°
                    case 4 -> { sx = x; sy = h - 1 - y; }           // mirrored top-bottom
                    case 5 -> { sx = y; sy = x; }                   // transposed
                    case 6 -> { sx = y; sy = h - 1 - x; }           // stored turned 90° anticlockwise: turn clockwise
                    case 7 -> { sx = w - 1 - y; sy = h - 1 - x; }   // transverse
                    default -> { sx = w - 1 - y; sy = x; }          // 8: stored turned 90° clockwise: turn back
                }
                System.arraycopy(src, (sy * w + sx) * 3, out, (y * outW + x) * 3, 3);
            }
        }
        return new RgbImage(outW, outH, out);
    }
}

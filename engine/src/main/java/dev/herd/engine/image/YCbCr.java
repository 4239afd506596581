package dev.herd.engine.image;

/**
 * JFIF YCbCr to RGB in libjpeg's 16-bit fixed point ({@code jdcolor.c}), which is what Pillow's
 * libjpeg applies to YCCK data before handing out CMYK.
 */
final class YCbCr {
    private YCbCr() {}

    private static final int SCALE_BITS = 16;
    private static final int ONE_HALF = 1 << (SCALE_BITS - 1);
    private static final int[] CR_TO_R = new int[256];
    private static final int[] CB_TO_B = new int[256];
    private static final int[] CR_TO_G = new int[256];
    private static final int[] CB_TO_G = new int[256];

    static {
        for (int i = 0; i < 256; i++) {
            int x = i - 128;
            CR_TO_R[i] = (fix(1.40200) * x + ONE_HALF) >> SCALE_BITS;
            CB_TO_B[i] = (fix(1.77200) * x + ONE_HALF) >> SCALE_BITS;
            CR_TO_G[i] = -fix(0.71414) * x;
            CB_TO_G[i] = -fix(0.34414) * x + ONE_HALF;
        }
    }

    private static int fix(double v) { return (int) (v * (1 << SCALE_BITS) + 0.5); }

    /** Writes the clamped R, G, B of one sample into {@code rgb}. */
    static void toRgb(int y, int cb, int cr, int[] rgb) {
        rgb[0] = clamp(y + CR_TO_R[cr]);
        rgb[1] = clamp(y + ((CB_TO_G[cb] + CR_TO_G[cr]) >> SCALE_BITS));
        rgb[2] = clamp(y + CB_TO_B[cb]);
    }

    private static int clamp(int v) { return v < 0 ? 0 : Math.min(v, 255); }
}

package dev.herd.engine.image;

import java.util.Arrays;

/**
 * Bilinear resize with antialiasing on 8-bit images, bit-exact with torchvision's
 * {@code resize(uint8 tensor, antialias=True)} on a CPU (PyTorch's native uint8 kernel, itself
 * Pillow-SIMD's): a separable triangle filter whose support widens by the downscale factor, weights
 * computed in double, normalised, then quantised to 16-bit integers with the largest precision that
 * keeps the biggest weight under 2^15; each pass accumulates in integers with rounding and clamps to
 * 0..255. The horizontal pass runs first and its 8-bit result feeds the vertical pass; a pass whose
 * size does not change is skipped.
 */
public final class AntialiasedBilinearResize {
    private AntialiasedBilinearResize() {}

    public static RgbImage resize(RgbImage image, int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("resize target must be positive, got " + width + "x" + height);
        }
        byte[] pixels = image.pixels();
        int w = image.width(), h = image.height();
        if (width != w) {
            pixels = horizontal(pixels, w, h, width);
            w = width;
        }
        if (height != h) {
            pixels = vertical(pixels, w, h, height);
            h = height;
        }
        return pixels == image.pixels() ? image : new RgbImage(w, h, pixels);
    }

    /** Resamples the x axis of {@code w}×{@code h} RGB pixels to {@code outW}. */
    private static byte[] horizontal(byte[] src, int w, int h, int outW) {
        Filter f = Filter.of(w, outW);
        byte[] out = new byte[outW * h * 3];
        int rounding = 1 << (f.precision - 1);
        for (int y = 0; y < h; y++) {
            int row = y * w * 3;
            for (int x = 0; x < outW; x++) {
                int r = rounding, g = rounding, b = rounding;
                int base = x * f.taps;
                for (int k = 0, p = row + f.start[x] * 3; k < f.count[x]; k++, p += 3) {
                    int wk = f.weights[base + k];
                    r += (src[p] & 0xFF) * wk;
                    g += (src[p + 1] & 0xFF) * wk;
                    b += (src[p + 2] & 0xFF) * wk;
                }
                int o = (y * outW + x) * 3;
                out[o] = clampToByte(r >> f.precision);
                out[o + 1] = clampToByte(g >> f.precision);
                out[o + 2] = clampToByte(b >> f.precision);
            }
        }
        return out;
    }

    /** Resamples the y axis of {@code w}×{@code h} RGB pixels to {@code outH}, a whole row at a time. */
    private static byte[] vertical(byte[] src, int w, int h, int outH) {
        Filter f = Filter.of(h, outH);
        int rowLength = w * 3;
        byte[] out = new byte[rowLength * outH];
        int[] acc = new int[rowLength];
        for (int y = 0; y < outH; y++) {
            Arrays.fill(acc, 1 << (f.precision - 1));
            int base = y * f.taps;
            for (int k = 0; k < f.count[y]; k++) {
                int wk = f.weights[base + k];
                int row = (f.start[y] + k) * rowLength;
                for (int i = 0; i < rowLength; i++) acc[i] += (src[row + i] & 0xFF) * wk;
            }
            int o = y * rowLength;
            for (int i = 0; i < rowLength; i++) out[o + i] = clampToByte(acc[i] >> f.precision);
        }
        return out;
    }

    private static byte clampToByte(int v) {
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /** Integer filter taps for every output position along one axis. */
    private record Filter(int[] start, int[] count, int[] weights, int taps, int precision) {

        static Filter of(int inSize, int outSize) {
            double scale = (double) inSize / outSize;
            // Downscaling widens the triangle to cover every input pixel that maps into the output pixel.
            double support = scale >= 1.0 ? scale : 1.0;
            double invScale = scale >= 1.0 ? 1.0 / scale : 1.0;
            int taps = (int) Math.ceil(support) * 2 + 1;
            int[] start = new int[outSize];
            int[] count = new int[outSize];
            double[] w = new double[outSize * taps];
            double maxWeight = 0;
            for (int i = 0; i < outSize; i++) {
                double center = scale * (i + 0.5);
                int lo = (int) Math.max((long) (center - support + 0.5), 0L);
                int n = (int) Math.min((long) (center + support + 0.5), inSize) - lo;
                double total = 0;
                for (int j = 0; j < n; j++) {
                    double t = Math.abs((j + lo - center + 0.5) * invScale);
                    double v = t < 1.0 ? 1.0 - t : 0.0;
                    w[i * taps + j] = v;
                    total += v;
                }
                for (int j = 0; j < n; j++) {
                    if (total != 0.0) w[i * taps + j] /= total;
                    maxWeight = Math.max(maxWeight, w[i * taps + j]);
                }
                start[i] = lo;
                count[i] = n;
            }
            int precision = 0;
            while (precision < 22 && (int) (0.5 + maxWeight * (1 << (precision + 1))) < (1 << 15)) precision++;
            int[] weights = new int[w.length];
            for (int k = 0; k < w.length; k++) {
                double v = w[k] * (1 << precision);
                weights[k] = (int) (v < 0 ? v - 0.5 : v + 0.5);
            }
            return new Filter(start, count, weights, taps, precision);
        }
    }
}

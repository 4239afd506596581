package dev.herd.engine.image;

import java.util.Objects;

/**
 * An 8-bit RGB image, row-major and interleaved: the sample of channel {@code c} (0 red, 1 green,
 * 2 blue) at column {@code x}, row {@code y} is {@code pixels[(y * width + x) * 3 + c] & 0xFF}.
 * The array is owned by the image; callers must not modify it after construction.
 */
public record RgbImage(int width, int height, byte[] pixels) {

    public RgbImage {
        Objects.requireNonNull(pixels, "pixels");
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if (pixels.length != (long) width * height * 3) {
            throw new IllegalArgumentException("an RGB image of " + width + "x" + height + " needs "
                    + (long) width * height * 3 + " bytes, got " + pixels.length);
        }
    }

    /** The sample (0..255) of {@code channel} at ({@code x}, {@code y}). */
    public int sample(int x, int y, int channel) {
        return pixels[(y * width + x) * 3 + channel] & 0xFF;
    }

    @Override
    public String toString() {
        return "RgbImage[" + width + "x" + height + "]";
    }
}

package dev.herd.engine.image;

import com.twelvemonkeys.imageio.plugins.jpeg.JPEGImageReaderSpi;
import com.twelvemonkeys.imageio.plugins.webp.WebPImageReaderSpi;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.spi.IIORegistry;
import javax.imageio.spi.ImageReaderSpi;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Decodes JPEG (baseline, progressive, CMYK/YCCK), PNG (palette, grey, 16-bit, alpha), GIF (first
 * frame), BMP and WebP into 8-bit RGB, the way the references turn them into model input:
 * <ul>
 *   <li>grey is replicated to three channels; palette indices become their palette colour;</li>
 *   <li>alpha is dropped, not composited (Pillow's {@code convert("RGB")}, stb_image's 3-channel load);</li>
 *   <li>16-bit samples keep their high byte (stb_image, and Pillow for RGB);</li>
 *   <li>CMYK and YCCK JPEGs use the Adobe (inverted) convention: {@code R = C·K/255} on the stored
 *       samples, YCCK first going through the JFIF YCbCr→RGB transform (Pillow and stb_image agree);</li>
 *   <li>embedded ICC profiles and PNG gamma are ignored, as both references do (ImageIO's JPEG and
 *       WebP readers would convert to sRGB, so the profile is cut out first);</li>
 *   <li>the EXIF orientation (JPEG, PNG {@code eXIf}, WebP) is applied, as transformers' {@code load_image}
 *       does with {@code ImageOps.exif_transpose}.</li>
 * </ul>
 * The declared size is read from the header and checked against {@link Limits} before any pixel
 * buffer is allocated. A truncated JPEG (which libjpeg would otherwise grey-fill) is an error, as in
 * Pillow. Instances are immutable and thread-safe; each call uses its own ImageIO reader.
 */
public final class ImageDecoder {

    /**
     * Decoding limits checked against the header before decoding.
     *
     * @param maxSide   largest allowed width or height
     * @param maxPixels largest allowed width × height
     */
    public record Limits(int maxSide, long maxPixels) {
        /** 16384 per side and 8192 × 8192 pixels (192 MiB of RGB): far above any model input, far below a bomb. */
        public static final Limits DEFAULT = new Limits(16384, 8192L * 8192L);

        public Limits {
            if (maxSide <= 0 || maxPixels <= 0) {
                throw new IllegalArgumentException("limits must be positive, got maxSide=" + maxSide + " maxPixels=" + maxPixels);
            }
        }
    }

    static {
        // Registered explicitly: ImageIO's service scan depends on the context class loader at its
        // first use, which under Spark may not see the application jars.
        registerIfAbsent(JPEGImageReaderSpi.class, JPEGImageReaderSpi::new);
        registerIfAbsent(WebPImageReaderSpi.class, WebPImageReaderSpi::new);
    }

    private final Limits limits;

    public ImageDecoder() { this(Limits.DEFAULT); }

    public ImageDecoder(Limits limits) { this.limits = Objects.requireNonNull(limits, "limits"); }

    public Limits limits() { return limits; }

    /** Decodes the file at {@code path}; errors name the file. */
    public RgbImage decode(Path path) {
        byte[] data;
        try {
            data = Files.readAllBytes(path);
        } catch (IOException e) {
            throw new ImageDecodeException("image " + path + ": cannot be read: " + e.getMessage(), e);
        }
        return decode(data, path.toString());
    }

    /**
     * Decodes an encoded image.
     *
     * @param name what to call the image in error messages (a file name, a row id)
     * @throws ImageDecodeException when the data is not a supported image, is corrupt or truncated, or
     *                              declares a size over the limits
     */
    public RgbImage decode(byte[] data, String name) {
        Objects.requireNonNull(data, "data");
        String label = "image " + name;
        ImageFormat format = ImageFormat.detect(data);
        if (format == null) {
            throw new ImageDecodeException(label + ": unsupported image format: " + ImageFormat.describeUnsupported(data)
                    + " (supported: JPEG, PNG, GIF, BMP, WebP)");
        }
        ContainerInfo info = ContainerInfo.read(data, format);
        ImageReader reader = readerFor(format, label);
        List<String> warnings = new ArrayList<>();
        byte[] encoded = EmbeddedProfiles.strip(data, format);
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(encoded))) {
            reader.setInput(in, true, true);
            reader.addIIOReadWarningListener(collectInto(warnings));
            int width = reader.getWidth(0);
            int height = reader.getHeight(0);
            checkLimits(width, height, label, format);
            RgbImage image;
            if (format == ImageFormat.JPEG && info.jpegComponents() == 4) {
                // readRaster hands back the stored samples; the conversion is ours (see class doc).
                image = fromCmykJpeg(reader.readRaster(0, null), info.adobeTransform() == 2);
            } else {
                image = toRgb(reader.read(0), label, format);
            }
            failOnTruncation(warnings, label, format);
            return Orientation.apply(image, info.orientation());
        } catch (ImageDecodeException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new ImageDecodeException(label + ": corrupt or truncated " + format + " data: " + describe(e), e);
        } finally {
            reader.dispose();
        }
    }

    private void checkLimits(int width, int height, String label, ImageFormat format) {
        if (width <= 0 || height <= 0) {
            throw new ImageDecodeException(label + ": " + format + " header declares an empty image (" + width + "x" + height + ")");
        }
        long pixels = (long) width * height;
        if (width > limits.maxSide() || height > limits.maxSide() || pixels > limits.maxPixels()) {
            throw new ImageDecodeException(label + ": " + format + " header declares " + width + "x" + height
                    + " pixels, over the decoder's limit (" + limits.maxSide() + " per side, " + limits.maxPixels()
                    + " pixels in all); refused before decoding");
        }
    }

    /** libjpeg only warns on a premature end and grey-fills the rest; Pillow refuses such files, so do we. */
    private static void failOnTruncation(List<String> warnings, String label, ImageFormat format) {
        for (String w : warnings) {
            String lower = w.toLowerCase();
            if (lower.contains("premature end") || lower.contains("truncated")) {
                throw new ImageDecodeException(label + ": truncated " + format + " data: " + w);
            }
        }
    }

    private static ImageReader readerFor(ImageFormat format, String label) {
        ImageReaderSpi spi = switch (format) {
            case JPEG -> IIORegistry.getDefaultInstance().getServiceProviderByClass(JPEGImageReaderSpi.class);
            case WEBP -> IIORegistry.getDefaultInstance().getServiceProviderByClass(WebPImageReaderSpi.class);
            default -> null;
        };
        try {
            if (spi != null) return spi.createReaderInstance();
            Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(format.imageIoName);
            if (readers.hasNext()) return readers.next();
        } catch (IOException e) {
            throw new ImageDecodeException(label + ": cannot create a " + format + " reader: " + e.getMessage(), e);
        }
        throw new ImageDecodeException(label + ": no ImageIO reader for " + format + " on the classpath");
    }

    private static RgbImage toRgb(BufferedImage image, String label, ImageFormat format) {
        ColorModel cm = image.getColorModel();
        Raster raster = image.getRaster();
        int w = raster.getWidth(), h = raster.getHeight();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        int bands = raster.getNumBands();
        int[] row = new int[w * bands];
        if (cm instanceof IndexColorModel palette) {
            for (int y = 0; y < h; y++) {
                raster.getPixels(0, y, w, 1, row);
                for (int x = 0, o = y * w * 3; x < w; x++, o += 3) {
                    int index = row[x * bands];
                    out[o] = (byte) palette.getRed(index);
                    out[o + 1] = (byte) palette.getGreen(index);
                    out[o + 2] = (byte) palette.getBlue(index);
                }
            }
            return new RgbImage(w, h, out);
        }
        int colorType = cm.getColorSpace().getType();
        int colors = cm.getNumColorComponents();
        boolean grey = colorType == ColorSpace.TYPE_GRAY && colors == 1;
        boolean rgb = colorType == ColorSpace.TYPE_RGB && colors == 3;
        if (!grey && !rgb) {
            throw new ImageDecodeException(label + ": unsupported " + format + " colour model (" + colors
                    + " colour components, colour space type " + colorType + ")");
        }
        int[] bits = new int[colors];
        for (int c = 0; c < colors; c++) bits[c] = cm.getComponentSize(c);
        for (int y = 0; y < h; y++) {
            raster.getPixels(0, y, w, 1, row);
            for (int x = 0, o = y * w * 3; x < w; x++, o += 3) {
                int p = x * bands;
                if (grey) {
                    byte v = (byte) to8Bits(row[p], bits[0]);
                    out[o] = v;
                    out[o + 1] = v;
                    out[o + 2] = v;
                } else {
                    for (int c = 0; c < 3; c++) out[o + c] = (byte) to8Bits(row[p + c], bits[c]);
                }
            }
        }
        return new RgbImage(w, h, out);
    }

    /** Wider samples keep their high byte (16-bit PNG); narrower ones are scaled (1-bit grey 1 is 255, 565 BMP). */
    private static int to8Bits(int sample, int bits) {
        if (bits >= 8) return sample >> (bits - 8);
        int max = (1 << bits) - 1;
        return (sample * 255 + max / 2) / max;
    }

    /** Adobe four-channel JPEG samples as stored (inverted: 255 is no ink) to RGB. */
    private static RgbImage fromCmykJpeg(Raster raster, boolean ycck) {
        int w = raster.getWidth(), h = raster.getHeight();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        int[] row = new int[w * 4];
        int[] rgb = new int[3];
        for (int y = 0; y < h; y++) {
            raster.getPixels(raster.getMinX(), raster.getMinY() + y, w, 1, row);
            for (int x = 0, o = y * w * 3; x < w; x++, o += 3) {
                int p = x * 4;
                int k = row[p + 3];
                if (ycck) {
                    // YCC carries the inverted CMY: undo the JFIF transform, then invert back.
                    YCbCr.toRgb(row[p], row[p + 1], row[p + 2], rgb);
                    for (int c = 0; c < 3; c++) out[o + c] = (byte) mulDiv255(255 - rgb[c], k);
                } else {
                    for (int c = 0; c < 3; c++) out[o + c] = (byte) mulDiv255(row[p + c], k);
                }
            }
        }
        return new RgbImage(w, h, out);
    }

    /** a·b/255 rounded, in the integer form stb_image and Pillow use. */
    private static int mulDiv255(int a, int b) {
        int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    }

    private static IIOReadWarningListener collectInto(List<String> warnings) {
        return (source, warning) -> warnings.add(warning);
    }

    private static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null && sb.length() < 300; t = t.getCause()) {
            if (!sb.isEmpty()) sb.append(": ");
            sb.append(t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName());
        }
        return sb.toString();
    }

    private static <T extends ImageReaderSpi> void registerIfAbsent(Class<T> type, Supplier<T> create) {
        IIORegistry registry = IIORegistry.getDefaultInstance();
        if (registry.getServiceProviderByClass(type) == null) registry.registerServiceProvider(create.get());
    }
}

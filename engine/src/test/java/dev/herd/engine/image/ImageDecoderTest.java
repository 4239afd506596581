package dev.herd.engine.image;

import dev.herd.engine.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageDecoderTest {

    private final ImageDecoder decoder = new ImageDecoder();

    // ---- conformance with stb_image (llama.cpp's decoder) on the fixture images ----

    /** PNG is lossless: every byte must equal stb_image's. */
    @ParameterizedTest
    @ValueSource(strings = {"gradient_80x60", "squares_112x112", "tiny_20x30"})
    void fixturePngsMatchStbImageExactly(String name) throws IOException {
        RgbImage image = decoder.decode(Fixtures.path("vision/images/" + name + ".png"));
        byte[] stb = Files.readAllBytes(Fixtures.path("vision/goldens/" + name + ".decoded_rgb.u8"));
        assertEquals(stb.length, image.pixels().length);
        assertArrayEquals(stb, image.pixels(), name);
    }

    /**
     * JPEG decoders differ in IDCT and colour-conversion rounding: the JDK's libjpeg (islow IDCT,
     * 16-bit YCbCr tables) against stb_image's own IDCT and 20-bit colour conversion. Pillow
     * (libjpeg-turbo) against stb on this file: max 3, 1001 of 45000 samples differ. Ours, measured:
     * the same, max 3, mean 0.025, 1001 samples (photo_150x100.jpg, 4:4:4; we equal Pillow here). A bound of 4 and a mean under 0.05
     * allow that rounding and nothing else (a wrong colour transform or chroma upsampling costs tens).
     */
    @Test
    void fixtureJpegMatchesStbImageWithinDecoderRounding() throws IOException {
        RgbImage image = decoder.decode(Fixtures.path("vision/images/photo_150x100.jpg"));
        byte[] stb = Files.readAllBytes(Fixtures.path("vision/goldens/photo_150x100.decoded_rgb.u8"));
        assertEquals(150, image.width());
        assertEquals(100, image.height());
        int max = 0, differing = 0;
        long sum = 0;
        for (int i = 0; i < stb.length; i++) {
            int d = Math.abs((image.pixels()[i] & 0xFF) - (stb[i] & 0xFF));
            max = Math.max(max, d);
            sum += d;
            if (d > 0) differing++;
        }
        double mean = (double) sum / stb.length;
        System.out.printf("photo_150x100.jpg vs stb_image: max |Δ| %d, mean %.4f, %d of %d samples differ%n", max, mean, differing, stb.length);
        assertTrue(max <= 4, "max |Δ| " + max);
        assertTrue(mean < 0.05, "mean |Δ| " + mean);
    }

    /**
     * Pillow (libjpeg-turbo) is the decoder transformers' image loading uses; the JDK's libjpeg
     * (islow IDCT, fancy chroma upsampling, the same YCbCr tables) gives the very same samples,
     * subsampled chroma and progressive files included. The fixture photo above is likewise
     * identical to Pillow's decoding (checked offline).
     */
    @ParameterizedTest
    @ValueSource(strings = {"pillow_420_64x48", "pillow_progressive_422_64x48"})
    void jpegsDecodeExactlyAsPillow(String name) throws IOException {
        assertSame(pillowDecoded(name, 64, 48), decoder.decode(resource(name + ".jpg"), name));
    }

    // ---- formats generated in-test ----

    @Test
    void rgbPngIsExact() throws IOException {
        BufferedImage src = randomRgb(37, 23, 1);
        RgbImage out = decoder.decode(encode(src, "png"), "rgb.png");
        assertPixels(src, out);
    }

    /** Adam7-interlaced PNG. */
    @Test
    void interlacedPngIsExact() throws IOException {
        BufferedImage src = randomRgb(29, 17, 13);
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        ImageWriteParam param = writer.getDefaultWriteParam();
        param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(out);
            writer.write(null, new IIOImage(src, null, null), param);
        }
        byte[] png = bytes.toByteArray();
        assertEquals(1, png[8 + 8 + 12], "IHDR interlace method is Adam7");
        assertPixels(src, decoder.decode(png, "interlaced.png"));
    }

    /** Palette PNG with a transparent entry: the palette colour, alpha dropped. */
    @Test
    void palettePngGivesPaletteColours() throws IOException {
        byte[] r = new byte[16], g = new byte[16], b = new byte[16], a = new byte[16];
        for (int i = 0; i < 16; i++) {
            r[i] = (byte) (i * 17);
            g[i] = (byte) (255 - i * 13);
            b[i] = (byte) (i * 7 + 3);
            a[i] = (byte) (i == 5 ? 0 : 255);
        }
        IndexColorModel palette = new IndexColorModel(4, 16, r, g, b, a);
        BufferedImage src = new BufferedImage(19, 11, BufferedImage.TYPE_BYTE_BINARY, palette);
        for (int y = 0; y < 11; y++) for (int x = 0; x < 19; x++) src.getRaster().setSample(x, y, 0, (x + 3 * y) % 16);
        RgbImage out = decoder.decode(encode(src, "png"), "palette.png");
        for (int y = 0; y < 11; y++) {
            for (int x = 0; x < 19; x++) {
                int i = (x + 3 * y) % 16;
                assertArrayEquals(new int[] {r[i] & 0xFF, g[i] & 0xFF, b[i] & 0xFF}, rgbAt(out, x, y), "(" + x + "," + y + ")");
            }
        }
    }

    @Test
    void greyPngIsReplicated() throws IOException {
        BufferedImage src = new BufferedImage(20, 10, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 10; y++) for (int x = 0; x < 20; x++) src.getRaster().setSample(x, y, 0, (x * 13 + y) % 256);
        RgbImage out = decoder.decode(encode(src, "png"), "grey.png");
        for (int y = 0; y < 10; y++) {
            for (int x = 0; x < 20; x++) {
                int v = (x * 13 + y) % 256;
                assertArrayEquals(new int[] {v, v, v}, rgbAt(out, x, y));
            }
        }
    }

    /** 1-bit grey: 0 and 255, as stb_image scales low bit depths. */
    @Test
    void oneBitPngIsBlackAndWhite() throws IOException {
        BufferedImage src = new BufferedImage(9, 3, BufferedImage.TYPE_BYTE_BINARY);
        for (int x = 0; x < 9; x++) src.getRaster().setSample(x, 1, 0, x % 2);
        RgbImage out = decoder.decode(encode(src, "png"), "bw.png");
        assertArrayEquals(new int[] {0, 0, 0}, rgbAt(out, 0, 1));
        assertArrayEquals(new int[] {255, 255, 255}, rgbAt(out, 1, 1));
    }

    /** 16-bit grey and RGB keep the high byte (stb_image's 16→8 conversion). */
    @Test
    void sixteenBitPngsKeepTheHighByte() throws IOException {
        BufferedImage grey = new BufferedImage(16, 4, BufferedImage.TYPE_USHORT_GRAY);
        for (int x = 0; x < 16; x++) grey.getRaster().setSample(x, 2, 0, x * 4099 + 255);
        RgbImage g = decoder.decode(encode(grey, "png"), "grey16.png");
        for (int x = 0; x < 16; x++) {
            int hi = (x * 4099 + 255) >> 8;
            assertArrayEquals(new int[] {hi, hi, hi}, rgbAt(g, x, 2));
        }

        ColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false, Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
        WritableRaster raster = cm.createCompatibleWritableRaster(8, 2);
        for (int x = 0; x < 8; x++) raster.setPixel(x, 1, new int[] {x * 8000 + 77, 65535 - x * 5000, 300 + x});
        RgbImage rgb = decoder.decode(encode(new BufferedImage(cm, raster, false, null), "png"), "rgb16.png");
        for (int x = 0; x < 8; x++) {
            assertArrayEquals(new int[] {(x * 8000 + 77) >> 8, (65535 - x * 5000) >> 8, (300 + x) >> 8}, rgbAt(rgb, x, 1));
        }
    }

    /** RGBA: colour kept as stored under any alpha, including fully transparent pixels (not composited). */
    @Test
    void alphaIsDroppedNotComposited() throws IOException {
        BufferedImage src = new BufferedImage(16, 16, BufferedImage.TYPE_INT_ARGB);
        Random rnd = new Random(7);
        for (int y = 0; y < 16; y++) for (int x = 0; x < 16; x++) src.setRGB(x, y, (y * 16 + x) << 24 | (rnd.nextInt() & 0xFFFFFF));
        RgbImage out = decoder.decode(encode(src, "png"), "rgba.png");
        assertPixels(src, out);
    }

    /** GIF: the first frame of an animation, palette colours. */
    @Test
    void gifGivesTheFirstFrame() throws IOException {
        BufferedImage first = indexed(randomRgb(10, 8, 2));
        BufferedImage second = indexed(randomRgb(10, 8, 3));
        ImageWriter writer = ImageIO.getImageWritersByFormatName("gif").next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(out);
            writer.prepareWriteSequence(null);
            writer.writeToSequence(new IIOImage(first, null, null), null);
            writer.writeToSequence(new IIOImage(second, null, null), null);
            writer.endWriteSequence();
        }
        RgbImage out = decoder.decode(bytes.toByteArray(), "anim.gif");
        assertPixels(first, out);
    }

    @Test
    void bmpTrueColourAndPalette() throws IOException {
        BufferedImage bgr = new BufferedImage(13, 7, BufferedImage.TYPE_3BYTE_BGR);
        bgr.getGraphics().drawImage(randomRgb(13, 7, 4), 0, 0, null);
        assertPixels(bgr, decoder.decode(encode(bgr, "bmp"), "rgb.bmp"));
        BufferedImage palette = indexed(randomRgb(13, 7, 5));
        assertPixels(palette, decoder.decode(encode(palette, "bmp"), "palette.bmp"));
    }

    /**
     * Progressive JPEG reorders the same quantised coefficients, so it must decode exactly like the
     * baseline file written with the same tables.
     */
    @Test
    void progressiveJpegDecodesLikeBaseline() throws IOException {
        BufferedImage src = smooth(48, 40);
        byte[] baseline = jpeg(src, false);
        byte[] progressive = jpeg(src, true);
        assertTrue(hasMarker(progressive, 0xC2), "writer produced a progressive (SOF2) file");
        RgbImage b = decoder.decode(baseline, "baseline.jpg");
        RgbImage p = decoder.decode(progressive, "progressive.jpg");
        assertArrayEquals(b.pixels(), p.pixels());
        assertTrue(maxDiff(src, p) <= 12, "close to the source: " + maxDiff(src, p));
    }

    /** Where the stored top-left and top-right corners show, per EXIF orientation (TIFF/EXIF spec). */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8})
    void exifOrientationIsApplied(int orientation) throws IOException {
        // 32×16 in four flat 8-aligned blocks: TL red, TR green, BL blue, BR white.
        BufferedImage src = new BufferedImage(32, 16, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 32; x++) {
                int q = (y < 8 ? 0 : 2) + (x < 16 ? 0 : 1);
                src.setRGB(x, y, new int[] {0xFF0000, 0x00FF00, 0x0000FF, 0xFFFFFF}[q]);
            }
        }
        RgbImage out = decoder.decode(withExifOrientation(jpeg(src, false), orientation, true), "o" + orientation + ".jpg");
        boolean swapped = orientation >= 5;
        assertEquals(swapped ? 16 : 32, out.width());
        assertEquals(swapped ? 32 : 16, out.height());
        // {where stored TL shows, where stored TR shows}; corners: 0 TL, 1 TR, 2 BL, 3 BR of the output
        int[][] table = {{0, 1}, {1, 0}, {3, 2}, {2, 3}, {0, 2}, {1, 3}, {3, 1}, {2, 0}};
        assertColour(0xFF0000, corner(out, table[orientation - 1][0]), "stored top-left");
        assertColour(0x00FF00, corner(out, table[orientation - 1][1]), "stored top-right");
    }

    /** Big-endian EXIF in a PNG eXIf chunk is honoured too (Pillow reads it). */
    @Test
    void pngExifChunkOrientation() throws IOException {
        BufferedImage src = randomRgb(5, 3, 9);
        byte[] png = encode(src, "png");
        RgbImage out = decoder.decode(insertPngChunk(png, "eXIf", tiff(8, false)), "rotated.png");
        assertEquals(3, out.width());
        assertEquals(5, out.height());
        // orientation 8: stored (x, y) shows at (y, W-1-x)
        for (int y = 0; y < 3; y++) for (int x = 0; x < 5; x++) assertArrayEquals(rgb(src.getRGB(x, y)), rgbAt(out, y, 4 - x));
    }

    /** Adobe CMYK (transform 0): R = C·K/255 on the stored samples. Expected values are Pillow 12.3's for this file. */
    @Test
    void cmykJpeg() throws IOException {
        WritableRaster raster = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, 16, 16, 4, null);
        for (int y = 0; y < 16; y++) for (int x = 0; x < 16; x++) raster.setPixel(x, y, new int[] {200, 50, 0, 30});
        byte[] file = insertAfterSoi(jdkJpeg(raster, null), adobeSegment(0));
        RgbImage out = decoder.decode(file, "cmyk.jpg");
        assertArrayEquals(new int[] {24, 6, 0}, rgbAt(out, 7, 7));
    }

    /** Adobe YCCK (transform 2): JFIF YCbCr→RGB, then R = (255-r)·K/255. Expected values are Pillow 12.3's. */
    @Test
    void ycckJpeg() throws IOException {
        ColorModel cmyk = new ComponentColorModel(new CmykSpace(), false, false, Transparency.OPAQUE, DataBuffer.TYPE_BYTE);
        WritableRaster raster = cmyk.createCompatibleWritableRaster(16, 16);
        for (int y = 0; y < 16; y++) for (int x = 0; x < 16; x++) raster.setPixel(x, y, new int[] {50, 110, 170, 230});
        ImageWriter writer = jdkJpegWriter();
        ImageWriteParam param = bestQuality(writer);
        // The JDK's default metadata for a CMYK type carries an Adobe marker with transform 2 (YCCK).
        IIOMetadata metadata = writer.getDefaultImageMetadata(new ImageTypeSpecifier(cmyk, cmyk.createCompatibleSampleModel(16, 16)), param);
        byte[] file = jdkJpeg(raster, metadata);
        RgbImage out = decoder.decode(file, "ycck.jpg");
        assertArrayEquals(new int[] {132, 207, 214}, rgbAt(out, 7, 7));
    }

    /**
     * An embedded ICC profile (here linear RGB, which ImageIO would convert to sRGB) is ignored, as
     * Pillow and stb_image ignore it.
     */
    @Test
    void jpegIccProfileIsIgnored() throws IOException {
        byte[] plain = jpeg(smooth(24, 16), false);
        byte[] profile = java.awt.color.ICC_Profile.getInstance(ColorSpace.CS_LINEAR_RGB).getData();
        ByteBuffer app2 = ByteBuffer.allocate(4 + 14 + profile.length);
        app2.put((byte) 0xFF).put((byte) 0xE2).putShort((short) (app2.capacity() - 2))
                .put("ICC_PROFILE\0".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 1).put(profile);
        int app0End = 4 + (((plain[4] & 0xFF) << 8) | (plain[5] & 0xFF));   // after the JFIF segment, where writers put it
        byte[] withProfile = new byte[plain.length + app2.capacity()];
        System.arraycopy(plain, 0, withProfile, 0, app0End);
        System.arraycopy(app2.array(), 0, withProfile, app0End, app2.capacity());
        System.arraycopy(plain, app0End, withProfile, app0End + app2.capacity(), plain.length - app0End);
        assertArrayEquals(decoder.decode(plain, "plain.jpg").pixels(), decoder.decode(withProfile, "icc.jpg").pixels());
    }

    @Test
    void webpIccProfileIsIgnored() throws IOException {
        byte[] file = resource("lossless_orientation6_12x9.webp");   // extended format (VP8X first), as profiles need
        byte[] profile = java.awt.color.ICC_Profile.getInstance(ColorSpace.CS_LINEAR_RGB).getData();
        int padded = profile.length + (profile.length & 1);
        ByteBuffer out = ByteBuffer.allocate(file.length + 8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        int vp8xEnd = 12 + 8 + 10;
        out.put(file, 0, vp8xEnd).put("ICCP".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).putInt(profile.length).put(profile);
        if ((profile.length & 1) == 1) out.put((byte) 0);
        out.put(file, vp8xEnd, file.length - vp8xEnd);
        byte[] withProfile = out.array();
        ByteBuffer.wrap(withProfile).order(ByteOrder.LITTLE_ENDIAN).putInt(4, withProfile.length - 8);
        withProfile[20] |= 0x20;   // VP8X: has ICC
        assertSame(pillowDecoded("lossless_orientation6_12x9", 9, 12), decoder.decode(withProfile, "icc.webp"));
    }

    // ---- WebP (files made by make_webp.py with Pillow/libwebp) ----

    @Test
    void webpLosslessWithAlphaIsExact() throws IOException {
        assertSame(pillowDecoded("lossless_rgba_12x9", 12, 9), decoder.decode(resource("lossless_rgba_12x9.webp"), "a.webp"));
    }

    @Test
    void webpExifOrientationIsApplied() throws IOException {
        RgbImage out = decoder.decode(resource("lossless_orientation6_12x9.webp"), "o6.webp");
        assertSame(pillowDecoded("lossless_orientation6_12x9", 9, 12), out);
    }

    /**
     * Lossy WebP: TwelveMonkeys' VP8 decoder against libwebp (Pillow) on the same file. libwebp
     * upsamples the 4:2:0 chroma with its "fancy" interpolating filter, TwelveMonkeys does not, so
     * colours differ where chroma changes. Measured on this smooth gradient: max |Δ| 8, mean 1.98;
     * on sharp chroma edges the difference grows (a blue sawtooth: max 39) — see docs/vision.md.
     */
    @Test
    void webpLossyCloseToLibwebp() throws IOException {
        RgbImage out = decoder.decode(resource("lossy_smooth_48x32.webp"), "lossy.webp");
        RgbImage expected = pillowDecoded("lossy_smooth_48x32", 48, 32);
        int max = 0;
        long sum = 0;
        for (int i = 0; i < expected.pixels().length; i++) {
            int d = Math.abs((out.pixels()[i] & 0xFF) - (expected.pixels()[i] & 0xFF));
            max = Math.max(max, d);
            sum += d;
        }
        double mean = (double) sum / expected.pixels().length;
        System.out.printf("lossy_smooth_48x32.webp vs libwebp: max |Δ| %d, mean %.3f%n", max, mean);
        // Nearest vs interpolated chroma moves a sample by up to half the neighbouring chroma step
        // (alternating ±, mean signed error ~0); a wrong colour matrix or range would cost 15+.
        assertTrue(max <= 12 && mean < 3.0, "max " + max + " mean " + mean);
    }

    // ---- bad input ----

    @ParameterizedTest
    @ValueSource(strings = {"png", "jpeg", "gif", "bmp"})
    void truncatedFilesFailForThatImage(String format) throws IOException {
        BufferedImage src = randomRgb(64, 48, 11);
        byte[] full = encode(format.equals("gif") ? indexed(src) : src, format);
        for (double keep : new double[] {0.5, 0.95}) {
            byte[] cut = Arrays.copyOf(full, (int) (full.length * keep));
            ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> decoder.decode(cut, "cut." + format));
            assertTrue(e.getMessage().startsWith("image cut." + format + ": ") && e.getMessage().contains("truncated"), e.getMessage());
        }
        decoder.decode(full, "whole." + format);   // the same decoder goes on with the next image
    }

    @Test
    void truncatedWebpFails() throws IOException {
        byte[] full = resource("lossy_smooth_48x32.webp");
        byte[] cut = Arrays.copyOf(full, full.length * 2 / 3);
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> decoder.decode(cut, "cut.webp"));
        assertTrue(e.getMessage().contains("cut.webp"), e.getMessage());
    }

    @Test
    void corruptDataFails() throws IOException {
        byte[] png = encode(randomRgb(32, 32, 12), "png");
        for (int i = 60; i < png.length - 20; i++) png[i] ^= (byte) 0x5A;   // scramble the compressed data
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> decoder.decode(png, "scrambled.png"));
        assertTrue(e.getMessage().contains("scrambled.png") && e.getMessage().contains("corrupt"), e.getMessage());
    }

    @Test
    void unsupportedFormatsAreNamed() {
        ImageDecodeException tiff = assertThrows(ImageDecodeException.class,
                () -> decoder.decode(new byte[] {'I', 'I', '*', 0, 8, 0, 0, 0, 0, 0}, "scan.tif"));
        assertTrue(tiff.getMessage().contains("scan.tif") && tiff.getMessage().contains("TIFF")
                && tiff.getMessage().contains("supported: JPEG, PNG, GIF, BMP, WebP"), tiff.getMessage());
        ImageDecodeException text = assertThrows(ImageDecodeException.class,
                () -> decoder.decode("hello world".getBytes(java.nio.charset.StandardCharsets.US_ASCII), "notes.txt"));
        assertTrue(text.getMessage().contains("68 65 6c 6c 6f"), text.getMessage());
        ImageDecodeException empty = assertThrows(ImageDecodeException.class, () -> decoder.decode(new byte[0], "empty"));
        assertTrue(empty.getMessage().contains("empty data"), empty.getMessage());
    }

    /** A PNG header declaring 100000×100000 (30 GB of RGB) is refused from the header, at once. */
    @Test
    void decompressionBombIsRefusedBeforeDecoding() {
        byte[] bomb = pngHeaderOnly(100_000, 100_000);
        ImageDecodeException e = assertTimeoutPreemptively(Duration.ofSeconds(2),
                () -> assertThrows(ImageDecodeException.class, () -> decoder.decode(bomb, "bomb.png")));
        assertTrue(e.getMessage().contains("100000x100000") && e.getMessage().contains("refused before decoding"), e.getMessage());
    }

    @Test
    void jpegBombIsRefusedToo() throws IOException {
        byte[] jpg = jpeg(smooth(16, 16), false);
        // Rewrite the SOF0 frame size to 60000×60000.
        for (int p = 2; p + 9 < jpg.length; ) {
            int marker = jpg[p + 1] & 0xFF, length = ((jpg[p + 2] & 0xFF) << 8) | (jpg[p + 3] & 0xFF);
            if (marker == 0xC0) {
                jpg[p + 5] = jpg[p + 7] = (byte) (60000 >> 8);
                jpg[p + 6] = jpg[p + 8] = (byte) 60000;
                break;
            }
            p += 2 + length;
        }
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> decoder.decode(jpg, "huge.jpg"));
        assertTrue(e.getMessage().contains("60000x60000"), e.getMessage());
    }

    @Test
    void customLimitsApplyPerSideAndInTotal() throws IOException {
        ImageDecoder small = new ImageDecoder(new ImageDecoder.Limits(100, 1000));
        small.decode(encode(randomRgb(40, 25, 1), "png"), "ok.png");
        assertThrows(ImageDecodeException.class, () -> small.decode(encode(randomRgb(101, 1, 1), "png"), "wide.png"));
        assertThrows(ImageDecodeException.class, () -> small.decode(encode(randomRgb(40, 26, 1), "png"), "many.png"));
    }

    // ---- helpers ----

    private static BufferedImage randomRgb(int w, int h, long seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Random rnd = new Random(seed);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, rnd.nextInt() & 0xFFFFFF);
        return img;
    }

    /** Smooth gradients: JPEG reproduces them closely. */
    private static BufferedImage smooth(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, (x * 255 / w) << 16 | (y * 255 / h) << 8 | 128);
        return img;
    }

    private static BufferedImage indexed(BufferedImage rgb) {
        BufferedImage out = new BufferedImage(rgb.getWidth(), rgb.getHeight(), BufferedImage.TYPE_BYTE_INDEXED);
        out.getGraphics().drawImage(rgb, 0, 0, null);
        return out;
    }

    private static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out), "ImageIO can write " + format);
        return out.toByteArray();
    }

    private static ImageWriter jdkJpegWriter() {
        for (var it = ImageIO.getImageWritersByFormatName("jpeg"); it.hasNext(); ) {
            ImageWriter w = it.next();
            if (w.getClass().getName().startsWith("com.sun.")) return w;
        }
        throw new AssertionError("no JDK JPEG writer");
    }

    private static ImageWriteParam bestQuality(ImageWriter writer) {
        ImageWriteParam param = writer.getDefaultWriteParam();
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionQuality(1f);
        return param;
    }

    private static byte[] jpeg(BufferedImage img, boolean progressive) throws IOException {
        ImageWriter writer = jdkJpegWriter();
        ImageWriteParam param = bestQuality(writer);
        param.setCompressionQuality(0.9f);
        if (progressive) param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(out);
            writer.write(null, new IIOImage(img, null, null), param);
        }
        return bytes.toByteArray();
    }

    /** A raw four-channel raster as a JPEG (flat blocks at quality 1.0 decode exactly). */
    private static byte[] jdkJpeg(Raster raster, IIOMetadata metadata) throws IOException {
        ImageWriter writer = jdkJpegWriter();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(out);
            writer.write(null, new IIOImage(raster, null, metadata), bestQuality(writer));
        }
        return bytes.toByteArray();
    }

    private static byte[] adobeSegment(int transform) {
        return new byte[] {(byte) 0xFF, (byte) 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, (byte) transform};
    }

    private static byte[] insertAfterSoi(byte[] jpeg, byte[] segment) {
        byte[] out = new byte[jpeg.length + segment.length];
        System.arraycopy(jpeg, 0, out, 0, 2);
        System.arraycopy(segment, 0, out, 2, segment.length);
        System.arraycopy(jpeg, 2, out, 2 + segment.length, jpeg.length - 2);
        return out;
    }

    /** A minimal TIFF block with IFD0 holding Orientation (and one other tag before it). */
    private static byte[] tiff(int orientation, boolean littleEndian) {
        ByteBuffer b = ByteBuffer.allocate(8 + 2 + 2 * 12 + 4).order(littleEndian ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
        b.put(littleEndian ? (byte) 'I' : (byte) 'M').put(littleEndian ? (byte) 'I' : (byte) 'M').putShort((short) 42).putInt(8);
        b.putShort((short) 2);
        b.putShort((short) 0x010F).putShort((short) 2).putInt(4).putInt(0);             // Make, unused
        b.putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) orientation).putShort((short) 0);
        b.putInt(0);
        return b.array();
    }

    private static byte[] withExifOrientation(byte[] jpeg, int orientation, boolean littleEndian) {
        byte[] tiff = tiff(orientation, littleEndian);
        byte[] app1 = new byte[4 + 6 + tiff.length];
        app1[0] = (byte) 0xFF;
        app1[1] = (byte) 0xE1;
        app1[2] = (byte) ((app1.length - 2) >> 8);
        app1[3] = (byte) (app1.length - 2);
        System.arraycopy(new byte[] {'E', 'x', 'i', 'f', 0, 0}, 0, app1, 4, 6);
        System.arraycopy(tiff, 0, app1, 10, tiff.length);
        return insertAfterSoi(jpeg, app1);
    }

    private static byte[] pngChunk(String type, byte[] data) {
        ByteBuffer chunk = ByteBuffer.allocate(12 + data.length);
        byte[] typeBytes = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        chunk.putInt(data.length).put(typeBytes).put(data);
        CRC32 crc = new CRC32();
        crc.update(typeBytes);
        crc.update(data);
        return chunk.putInt((int) crc.getValue()).array();
    }

    /** {@code png} with a chunk added right after IHDR. */
    private static byte[] insertPngChunk(byte[] png, String type, byte[] data) {
        byte[] chunk = pngChunk(type, data);
        int afterIhdr = 8 + 12 + 13;
        byte[] out = new byte[png.length + chunk.length];
        System.arraycopy(png, 0, out, 0, afterIhdr);
        System.arraycopy(chunk, 0, out, afterIhdr, chunk.length);
        System.arraycopy(png, afterIhdr, out, afterIhdr + chunk.length, png.length - afterIhdr);
        return out;
    }

    /** Signature, IHDR (8-bit RGB), a tiny IDAT and IEND: a header that promises a huge image. */
    private static byte[] pngHeaderOnly(int width, int height) {
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        png.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
        png.writeBytes(pngChunk("IHDR", ihdr.array()));
        png.writeBytes(pngChunk("IDAT", new byte[] {0x78, (byte) 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}));
        png.writeBytes(pngChunk("IEND", new byte[0]));
        return png.toByteArray();
    }

    private static boolean hasMarker(byte[] jpeg, int marker) {
        for (int i = 0; i + 1 < jpeg.length; i++) if ((jpeg[i] & 0xFF) == 0xFF && (jpeg[i + 1] & 0xFF) == marker) return true;
        return false;
    }

    private byte[] resource(String name) throws IOException {
        try (InputStream in = ImageDecoderTest.class.getResourceAsStream(name)) {
            if (in == null) throw new AssertionError("missing test resource " + name);
            return in.readAllBytes();
        }
    }

    private RgbImage pillowDecoded(String name, int w, int h) throws IOException {
        return new RgbImage(w, h, resource(name + ".rgb.u8"));
    }

    private static int[] rgb(int argb) { return new int[] {(argb >> 16) & 0xFF, (argb >> 8) & 0xFF, argb & 0xFF}; }

    private static int[] rgbAt(RgbImage img, int x, int y) {
        return new int[] {img.sample(x, y, 0), img.sample(x, y, 1), img.sample(x, y, 2)};
    }

    private static int[] corner(RgbImage img, int which) {
        int x = (which & 1) == 0 ? 0 : img.width() - 1, y = which < 2 ? 0 : img.height() - 1;
        return rgbAt(img, x, y);
    }

    private static void assertColour(int expected, int[] actual, String what) {
        int[] e = rgb(expected);
        for (int c = 0; c < 3; c++) assertTrue(Math.abs(e[c] - actual[c]) <= 8, what + ": expected " + Arrays.toString(e) + " got " + Arrays.toString(actual));
    }

    private static void assertPixels(BufferedImage expected, RgbImage actual) {
        assertEquals(expected.getWidth(), actual.width());
        assertEquals(expected.getHeight(), actual.height());
        for (int y = 0; y < actual.height(); y++) {
            for (int x = 0; x < actual.width(); x++) assertArrayEquals(rgb(expected.getRGB(x, y)), rgbAt(actual, x, y), "(" + x + "," + y + ")");
        }
    }

    private static void assertSame(RgbImage expected, RgbImage actual) {
        assertEquals(expected.width(), actual.width(), "width");
        assertEquals(expected.height(), actual.height(), "height");
        assertArrayEquals(expected.pixels(), actual.pixels());
    }

    private static int maxDiff(BufferedImage expected, RgbImage actual) {
        int max = 0;
        for (int y = 0; y < actual.height(); y++) {
            for (int x = 0; x < actual.width(); x++) {
                int[] e = rgb(expected.getRGB(x, y)), a = rgbAt(actual, x, y);
                for (int c = 0; c < 3; c++) max = Math.max(max, Math.abs(e[c] - a[c]));
            }
        }
        return max;
    }

    /** A bare CMYK colour space: the JDK writer only looks at its type to pick YCCK. */
    private static final class CmykSpace extends ColorSpace {
        CmykSpace() { super(TYPE_CMYK, 4); }
        @Override public float[] toRGB(float[] v) { throw new UnsupportedOperationException(); }
        @Override public float[] fromRGB(float[] v) { throw new UnsupportedOperationException(); }
        @Override public float[] toCIEXYZ(float[] v) { throw new UnsupportedOperationException(); }
        @Override public float[] fromCIEXYZ(float[] v) { throw new UnsupportedOperationException(); }
    }
}

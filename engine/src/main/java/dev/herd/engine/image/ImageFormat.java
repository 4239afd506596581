package dev.herd.engine.image;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/** The image formats {@link ImageDecoder} reads, recognised from their leading bytes (never from a file name). */
public enum ImageFormat {
    JPEG("jpeg"), PNG("png"), GIF("gif"), BMP("bmp"), WEBP("webp");

    /** The ImageIO format name of the reader. */
    final String imageIoName;

    ImageFormat(String imageIoName) { this.imageIoName = imageIoName; }

    /** The format of {@code data}, or null when it is none of the supported ones. */
    static ImageFormat detect(byte[] data) {
        if (startsWith(data, 0, 0xFF, 0xD8, 0xFF)) return JPEG;
        if (startsWith(data, 0, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) return PNG;
        if (ascii(data, 0, "GIF87a") || ascii(data, 0, "GIF89a")) return GIF;
        if (ascii(data, 0, "BM") && data.length >= 26) return BMP;
        if (ascii(data, 0, "RIFF") && ascii(data, 8, "WEBP")) return WEBP;
        return null;
    }

    /** A human description of what {@code data} looks like, for the error of an unsupported image. */
    static String describeUnsupported(byte[] data) {
        if (data.length == 0) return "empty data";
        if (ascii(data, 0, "II*\0") || ascii(data, 0, "MM\0*")) return "a TIFF image";
        if (ascii(data, 4, "ftyp")) {
            String brand = data.length >= 12 ? new String(data, 8, 4, StandardCharsets.US_ASCII) : "?";
            return brand.startsWith("avi") ? "an AVIF image" : "an ISO media file (brand '" + brand + "', HEIF/HEIC or video)";
        }
        if (startsWith(data, 0, 0x00, 0x00, 0x01, 0x00)) return "a Windows icon (ICO)";
        if (ascii(data, 0, "8BPS")) return "a Photoshop document (PSD)";
        if (ascii(data, 0, "%PDF")) return "a PDF document";
        if (startsWith(data, 0, 0x00, 0x00, 0x00, 0x0C, 'j', 'P', ' ', ' ')) return "a JPEG 2000 image";
        if (startsWith(data, 0, 0xFF, 0x0A) || startsWith(data, 0, 0x00, 0x00, 0x00, 0x0C, 'J', 'X', 'L', ' ')) return "a JPEG XL image";
        if (ascii(data, 0, "RIFF")) return "a RIFF file that is not WebP";
        int n = Math.min(data.length, 8);
        return "unrecognised data (first bytes " + HexFormat.ofDelimiter(" ").formatHex(data, 0, n) + ")";
    }

    private static boolean startsWith(byte[] data, int offset, int... expected) {
        if (data.length < offset + expected.length) return false;
        for (int i = 0; i < expected.length; i++) {
            if ((data[offset + i] & 0xFF) != expected[i]) return false;
        }
        return true;
    }

    private static boolean ascii(byte[] data, int offset, String expected) {
        if (data.length < offset + expected.length()) return false;
        for (int i = 0; i < expected.length(); i++) {
            if ((data[offset + i] & 0xFF) != expected.charAt(i)) return false;
        }
        return true;
    }
}

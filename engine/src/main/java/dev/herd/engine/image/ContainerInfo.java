package dev.herd.engine.image;

/**
 * What herd reads from an image's container itself rather than through ImageIO: the EXIF orientation
 * (JPEG APP1, PNG {@code eXIf}, WebP {@code EXIF}) and, for JPEG, the component count and Adobe
 * colour transform that decide how four-channel (CMYK/YCCK) data become RGB. Malformed metadata
 * is ignored (orientation 1), as Pillow's {@code exif_transpose} does; the pixel decoder reports
 * corrupt image data.
 *
 * @param orientation     EXIF orientation 1..8 (1 = as stored)
 * @param jpegComponents  components in the JPEG frame header, 0 when not JPEG or not found
 * @param adobeTransform  the JPEG APP14 Adobe transform (0 none/CMYK, 1 YCbCr, 2 YCCK), -1 when absent
 */
record ContainerInfo(int orientation, int jpegComponents, int adobeTransform) {

    private static final ContainerInfo PLAIN = new ContainerInfo(1, 0, -1);

    static ContainerInfo read(byte[] data, ImageFormat format) {
        return switch (format) {
            case JPEG -> readJpeg(data);
            case PNG -> new ContainerInfo(pngOrientation(data), 0, -1);
            case WEBP -> new ContainerInfo(webpOrientation(data), 0, -1);
            case GIF, BMP -> PLAIN;
        };
    }

    private static ContainerInfo readJpeg(byte[] d) {
        int orientation = 1, components = 0, adobe = -1;
        int p = 2;
        while (p + 4 <= d.length) {
            if ((d[p] & 0xFF) != 0xFF) break;
            int marker = d[p + 1] & 0xFF;
            if (marker == 0xFF) { p++; continue; }                      // fill byte
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) { p += 2; continue; }  // no length
            if (marker == 0xDA || marker == 0xD9) break;                 // start of scan / end of image
            int length = u16be(d, p + 2);
            int payload = p + 4, end = p + 2 + length;
            if (length < 2 || end > d.length) break;
            if (marker == 0xE1 && orientation == 1 && hasAscii(d, payload, end, "Exif\0\0")) {
                orientation = tiffOrientation(d, payload + 6, end);
            } else if (marker == 0xEE && hasAscii(d, payload, end, "Adobe") && payload + 11 < end) {
                adobe = d[payload + 11] & 0xFF;
            } else if (isStartOfFrame(marker) && payload + 5 < end) {
                components = d[payload + 5] & 0xFF;
            }
            p = end;
        }
        return new ContainerInfo(orientation, components, adobe);
    }

    private static boolean isStartOfFrame(int marker) {
        return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    }

    private static int pngOrientation(byte[] d) {
        int p = 8;
        while (p + 12 <= d.length) {
            long length = u32be(d, p);
            if (length > d.length - p - 12) break;
            int payload = p + 8, end = payload + (int) length;
            if (hasAscii(d, p + 4, p + 8, "eXIf")) return tiffOrientation(d, payload, end);
            if (hasAscii(d, p + 4, p + 8, "IEND")) break;
            p = end + 4;
        }
        return 1;
    }

    private static int webpOrientation(byte[] d) {
        int p = 12;
        while (p + 8 <= d.length) {
            long size = u32le(d, p + 4);
            if (size > d.length - p - 8) break;
            int payload = p + 8, end = payload + (int) size;
            if (hasAscii(d, p, p + 4, "EXIF")) {
                // Some writers keep the JPEG-style "Exif\0\0" prefix inside the chunk.
                int tiff = hasAscii(d, payload, end, "Exif\0\0") ? payload + 6 : payload;
                return tiffOrientation(d, tiff, end);
            }
            p = end + (int) (size & 1);
        }
        return 1;
    }

    /** The Orientation tag (0x0112) of IFD0 of the TIFF structure in {@code d[start, end)}, or 1. */
    static int tiffOrientation(byte[] d, int start, int end) {
        if (end - start < 8) return 1;
        boolean little;
        if (d[start] == 'I' && d[start + 1] == 'I') little = true;
        else if (d[start] == 'M' && d[start + 1] == 'M') little = false;
        else return 1;
        if (u16(d, start + 2, little) != 42) return 1;
        long ifd = start + u32(d, start + 4, little);
        if (ifd + 2 > end) return 1;
        int entries = u16(d, (int) ifd, little);
        for (int i = 0; i < entries; i++) {
            long entry = ifd + 2 + 12L * i;
            if (entry + 12 > end) return 1;
            int e = (int) entry;
            if (u16(d, e, little) == 0x0112) {
                int type = u16(d, e + 2, little);
                int value = type == 3 ? u16(d, e + 8, little) : type == 4 ? (int) u32(d, e + 8, little) : 0;
                return value >= 1 && value <= 8 ? value : 1;
            }
        }
        return 1;
    }

    private static boolean hasAscii(byte[] d, int offset, int end, String s) {
        if (offset + s.length() > end) return false;
        for (int i = 0; i < s.length(); i++) {
            if ((d[offset + i] & 0xFF) != s.charAt(i)) return false;
        }
        return true;
    }

    private static int u16be(byte[] d, int p) { return ((d[p] & 0xFF) << 8) | (d[p + 1] & 0xFF); }

    private static long u32be(byte[] d, int p) { return ((long) u16be(d, p) << 16) | u16be(d, p + 2); }

    private static long u32le(byte[] d, int p) {
        return (d[p] & 0xFFL) | (d[p + 1] & 0xFFL) << 8 | (d[p + 2] & 0xFFL) << 16 | (d[p + 3] & 0xFFL) << 24;
    }

    private static int u16(byte[] d, int p, boolean little) {
        return little ? (d[p] & 0xFF) | (d[p + 1] & 0xFF) << 8 : u16be(d, p);
    }

    private static long u32(byte[] d, int p, boolean little) {
        return little ? u32le(d, p) : u32be(d, p);
    }
}

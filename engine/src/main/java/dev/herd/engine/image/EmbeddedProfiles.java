package dev.herd.engine.image;

import java.io.ByteArrayOutputStream;

/**
 * Removes embedded ICC profiles from JPEG (APP2 {@code ICC_PROFILE}) and WebP ({@code ICCP}) data
 * before decoding. The JDK's and TwelveMonkeys' readers convert such images to sRGB; Pillow (what
 * transformers decodes with) and stb_image hand out the stored samples, and the model was trained on
 * those. PNG needs nothing: the JDK's PNG reader ignores {@code iCCP}.
 */
final class EmbeddedProfiles {
    private EmbeddedProfiles() {}

    /** {@code data} without its ICC profile; the same array when it has none. */
    static byte[] strip(byte[] data, ImageFormat format) {
        return switch (format) {
            case JPEG -> stripJpeg(data);
            case WEBP -> stripWebp(data);
            default -> data;
        };
    }

    private static byte[] stripJpeg(byte[] d) {
        ByteArrayOutputStream out = null;
        int copiedUpTo = 0;
        int p = 2;
        while (p + 4 <= d.length) {
            if ((d[p] & 0xFF) != 0xFF) break;
            int marker = d[p + 1] & 0xFF;
            if (marker == 0xFF) { p++; continue; }
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) { p += 2; continue; }
            if (marker == 0xDA || marker == 0xD9) break;
            int end = p + 2 + (((d[p + 2] & 0xFF) << 8) | (d[p + 3] & 0xFF));
            if (end > d.length || end < p + 4) break;
            if (marker == 0xE2 && startsWith(d, p + 4, end, "ICC_PROFILE\0")) {
                if (out == null) out = new ByteArrayOutputStream(d.length);
                out.write(d, copiedUpTo, p - copiedUpTo);
                copiedUpTo = end;
            }
            p = end;
        }
        if (out == null) return d;
        out.write(d, copiedUpTo, d.length - copiedUpTo);
        return out.toByteArray();
    }

    private static byte[] stripWebp(byte[] d) {
        int p = 12;
        while (p + 8 <= d.length) {
            long size = (d[p + 4] & 0xFFL) | (d[p + 5] & 0xFFL) << 8 | (d[p + 6] & 0xFFL) << 16 | (d[p + 7] & 0xFFL) << 24;
            long next = p + 8 + size + (size & 1);
            if (startsWith(d, p, p + 4, "ICCP")) {
                int end = (int) Math.min(next, d.length);
                byte[] out = new byte[d.length - (end - p)];
                System.arraycopy(d, 0, out, 0, p);
                System.arraycopy(d, end, out, p, d.length - end);
                int riff = out.length - 8;
                out[4] = (byte) riff;
                out[5] = (byte) (riff >> 8);
                out[6] = (byte) (riff >> 16);
                out[7] = (byte) (riff >> 24);
                // VP8X (always the first chunk when there is a profile): clear its "has ICC" flag.
                if (startsWith(out, 12, 16, "VP8X") && out.length > 20) out[20] &= (byte) ~0x20;
                return out;
            }
            if (next > d.length) break;
            p = (int) next;
        }
        return d;
    }

    private static boolean startsWith(byte[] d, int offset, int end, String s) {
        if (offset + s.length() > Math.min(end, d.length)) return false;
        for (int i = 0; i < s.length(); i++) {
            if ((d[offset + i] & 0xFF) != s.charAt(i)) return false;
        }
        return true;
    }
}

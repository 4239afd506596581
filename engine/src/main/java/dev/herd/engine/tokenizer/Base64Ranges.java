package dev.herd.engine.tokenizer;

/** Standard base64 (with padding) decoded straight from a range of a byte array. */
final class Base64Ranges {
    private Base64Ranges() {}

    private static final byte[] VALUE = new byte[128];

    static {
        java.util.Arrays.fill(VALUE, (byte) -1);
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < 64; i++) VALUE[alphabet.charAt(i)] = (byte) i;
    }

    /** The bytes {@code src[from, to)} encode, or null when that is not padded base64. */
    static byte[] decode(byte[] src, int from, int to) {
        int len = to - from;
        if (len == 0 || len % 4 != 0) return null;
        int pad = src[to - 1] == '=' ? (src[to - 2] == '=' ? 2 : 1) : 0;
        byte[] out = new byte[len / 4 * 3 - pad];
        int o = 0;
        for (int i = from; i < to; i += 4) {
            int acc = 0;
            for (int k = 0; k < 4; k++) {
                int c = src[i + k];
                int v;
                if (c == '=' && i + 4 == to && k >= 4 - pad) v = 0;
                else if (c < 0 || (v = VALUE[c]) < 0) return null;
                acc = acc << 6 | v;
            }
            if (o < out.length) out[o++] = (byte) (acc >> 16);
            if (o < out.length) out[o++] = (byte) (acc >> 8);
            if (o < out.length) out[o++] = (byte) acc;
        }
        return out;
    }
}

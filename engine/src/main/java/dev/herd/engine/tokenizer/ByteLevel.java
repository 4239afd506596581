package dev.herd.engine.tokenizer;

/**
 * GPT-2's reversible byte-to-character mapping, which byte-level BPE vocabularies (GGUF
 * {@code tokenizer.ggml.model = gpt2}, Hugging Face {@code ByteLevel}) use to store arbitrary bytes
 * as printable text: printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100 and up
 * in byte order (so the space 0x20 is stored as 'Ġ', U+0120).
 */
public final class ByteLevel {
    private ByteLevel() {}

    private static final char[] BYTE_TO_CHAR = new char[256];
    /** Indexed by character (all mapped characters are below U+0144); -1 where unmapped. */
    private static final short[] CHAR_TO_BYTE = new short[0x144];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, (short) -1);
        int next = 0x100;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) next++;
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = (short) b;
        }
    }

    static char toChar(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /** The byte a mapped character stands for, or -1 when the character is not part of the mapping. */
    static int toByte(int codePoint) {
        return codePoint >= 0 && codePoint < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[codePoint] : -1;
    }

    /** The bytes of a mapped token text, or null when some character is not part of the mapping. */
    static byte[] decode(String mapped) {
        byte[] out = new byte[mapped.length()];
        for (int i = 0; i < mapped.length(); i++) {
            int b = toByte(mapped.charAt(i));
            if (b < 0) return null;
            out[i] = (byte) b;
        }
        return out;
    }

    public static String encode(byte[] bytes) {
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = toChar(bytes[i]);
        return new String(out);
    }
}

package dev.herd.engine.tokenizer;

/**
 * UTF-8 decoding that replaces each maximal invalid subpart with one U+FFFD (the Unicode
 * standard's recommended practice, which Python's {@code decode('utf-8', 'replace')} and so
 * tiktoken and Hugging Face follow). The JDK's decoder differs on some invalid input (it folds an
 * encoded surrogate {@code ED A0 80} into one U+FFFD), so decoding and streaming both use this.
 */
final class Utf8 {
    private Utf8() {}

    static String decode(byte[] b, int from, int to) {
        StringBuilder out = new StringBuilder(to - from);
        int i = from;
        while (i < to) {
            int lead = b[i] & 0xFF;
            if (lead < 0x80) {
                out.append((char) lead);
                i++;
                continue;
            }
            int continuations = continuationCount(lead);
            if (continuations == 0) {
                out.append('\uFFFD');
                i++;
                continue;
            }
            int codePoint = lead & (0x3F >> continuations);
            int j = i + 1;
            boolean complete = true;
            for (int k = 0; k < continuations; k++, j++) {
                if (j >= to || !validContinuation(lead, k, b[j] & 0xFF)) {
                    complete = false;
                    break;
                }
                codePoint = codePoint << 6 | (b[j] & 0x3F);
            }
            if (complete) out.appendCodePoint(codePoint);
            else out.append('\uFFFD'); // bytes i..j-1: a valid but unfinished prefix
            i = j;
        }
        return out.toString();
    }

    /** How many continuation bytes a lead byte takes; 0 for a byte that cannot start a character. */
    static int continuationCount(int lead) {
        if (lead >= 0xC2 && lead <= 0xDF) return 1;
        if (lead >= 0xE0 && lead <= 0xEF) return 2;
        if (lead >= 0xF0 && lead <= 0xF4) return 3;
        return 0;
    }

    /** Whether {@code b} may be continuation byte number {@code k} (0-based) after {@code lead}; excludes overlongs, surrogates and > U+10FFFF. */
    static boolean validContinuation(int lead, int k, int b) {
        int lo = 0x80, hi = 0xBF;
        if (k == 0) {
            if (lead == 0xE0) lo = 0xA0;
            else if (lead == 0xED) hi = 0x9F;
            else if (lead == 0xF0) lo = 0x90;
            else if (lead == 0xF4) hi = 0x8F;
        }
        return b >= lo && b <= hi;
    }
}

package dev.herd.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * Streams token bytes out as text, holding back only a trailing sequence that is a valid but
 * incomplete UTF-8 character. Such a sequence starts with a lead byte, which no earlier sequence
 * can absorb, so decoding the stream in pieces cut there gives exactly the text of decoding it
 * whole (invalid bytes become U+FFFD the same way).
 */
final class Utf8StreamingDecoder implements StreamingDecoder {
    private final IntFunction<byte[]> tokenBytes;
    private byte[] pending = new byte[16];
    private int size;

    Utf8StreamingDecoder(IntFunction<byte[]> tokenBytes) {
        this.tokenBytes = tokenBytes;
    }

    @Override
    public String append(int id) {
        byte[] b = tokenBytes.apply(id);
        if (size + b.length > pending.length) pending = Arrays.copyOf(pending, Math.max(size + b.length, pending.length * 2));
        System.arraycopy(b, 0, pending, size, b.length);
        size += b.length;
        return emit(incompleteTailStart(pending, size));
    }

    @Override
    public String finish() {
        return emit(size);
    }

    private String emit(int upTo) {
        if (upTo == 0) return "";
        String text = new String(pending, 0, upTo, StandardCharsets.UTF_8);
        System.arraycopy(pending, upTo, pending, 0, size - upTo);
        size -= upTo;
        return text;
    }

    /** Where a trailing valid-but-incomplete character starts, or {@code len} when there is none. */
    static int incompleteTailStart(byte[] b, int len) {
        int lead = len - 1;
        while (lead >= 0 && lead > len - 4 && (b[lead] & 0xC0) == 0x80) lead--;
        if (lead < 0 || (b[lead] & 0xC0) == 0x80) return len;
        int first = b[lead] & 0xFF;
        int need = first >= 0xC2 && first <= 0xDF ? 2 : first >= 0xE0 && first <= 0xEF ? 3 : first >= 0xF0 && first <= 0xF4 ? 4 : 1;
        int have = len - lead;
        if (have >= need) return len;
        if (have >= 2) {
            int second = b[lead + 1] & 0xFF;
            int lo = first == 0xE0 ? 0xA0 : first == 0xF0 ? 0x90 : 0x80;
            int hi = first == 0xED ? 0x9F : first == 0xF4 ? 0x8F : 0xBF;
            if (second < lo || second > hi) return len;
        }
        return lead;
    }
}

package dev.herd.engine.tokenizer;

import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * Streams token bytes out as text, holding back only a trailing sequence that is a valid but
 * incomplete UTF-8 character. Such a sequence starts with a lead byte, which no earlier sequence
 * can absorb, so decoding the stream in pieces cut there with {@link Utf8#decode} gives exactly
 * the text of decoding it whole (invalid bytes become U+FFFD the same way).
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
        String text = Utf8.decode(pending, 0, upTo);
        System.arraycopy(pending, upTo, pending, 0, size - upTo);
        size -= upTo;
        return text;
    }

    /** Where a trailing valid-but-incomplete character starts, or {@code len} when there is none. */
    static int incompleteTailStart(byte[] b, int len) {
        int lead = len - 1;
        while (lead >= 0 && lead > len - 4 && (b[lead] & 0xC0) == 0x80) lead--;
        if (lead < 0) return len;
        int continuations = Utf8.continuationCount(b[lead] & 0xFF);
        int have = len - lead - 1;
        if (have >= continuations) return len;
        for (int k = 0; k < have; k++) {
            if (!Utf8.validContinuation(b[lead] & 0xFF, k, b[lead + 1 + k] & 0xFF)) return len;
        }
        return lead;
    }
}

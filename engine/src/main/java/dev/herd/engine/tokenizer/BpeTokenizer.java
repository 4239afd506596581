package dev.herd.engine.tokenizer;

import java.util.BitSet;
import java.util.Map;
import java.util.regex.Matcher;

/**
 * Byte-level BPE: special-token partition, regex pre-tokenization, BPE per piece. Built by
 * {@link Tokenizers} from a GGUF vocabulary or a tiktoken file. Immutable and thread-safe.
 */
public final class BpeTokenizer implements Tokenizer {

    private final byte[][] tokenBytes;
    private final Map<String, Integer> specialIds;
    private final SpecialTokenMatcher specials;
    private final PreTokenizer preTokenizer;
    private final BytePairEncoder bpe;
    private final int bosId;
    private final int eosId;
    private final int eotId;
    private final int eomId;
    private final BitSet endOfGeneration;
    private final boolean addBosByDefault;

    BpeTokenizer(byte[][] tokenBytes, Map<String, Integer> controlTokens, Map<String, Integer> userDefinedTokens,
                 PreTokenizer preTokenizer, BytePairEncoder bpe,
                 int bosId, int eosId, int eotId, int eomId, BitSet endOfGeneration, boolean addBosByDefault) {
        this.tokenBytes = tokenBytes;
        java.util.HashMap<String, Integer> all = new java.util.HashMap<>(controlTokens);
        all.putAll(userDefinedTokens);
        this.specialIds = Map.copyOf(all);
        this.specials = new SpecialTokenMatcher(controlTokens, userDefinedTokens);
        this.preTokenizer = preTokenizer;
        this.bpe = bpe;
        this.bosId = bosId;
        this.eosId = eosId;
        this.eotId = eotId;
        this.eomId = eomId;
        this.endOfGeneration = (BitSet) endOfGeneration.clone();
        this.addBosByDefault = addBosByDefault;
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        IntList out = new IntList(text.length() / 3 + 2);
        if (addBos && bosId >= 0) out.add(bosId);
        byte[] buffer = new byte[64];
        for (SpecialTokenMatcher.Fragment f : specials.partition(text, parseSpecial)) {
            if (!f.isText()) {
                out.add(f.id());
                continue;
            }
            // Each text fragment is split on its own: the regex's lookahead must not see past a special token.
            Matcher m = preTokenizer.matcher(text).region(f.start(), f.end());
            while (m.find()) {
                int maxBytes = (m.end() - m.start()) * 3;
                if (buffer.length < maxBytes) buffer = new byte[Math.max(maxBytes, buffer.length * 2)];
                int n = utf8(text, m.start(), m.end(), buffer);
                bpe.encode(buffer, n, out);
            }
        }
        return out.toArray();
    }

    /** UTF-8 of {@code text[from, to)} into {@code out}; an unpaired surrogate becomes U+FFFD. Returns the byte count. */
    private static int utf8(String text, int from, int to, byte[] out) {
        int n = 0;
        for (int i = from; i < to; i++) {
            int c = text.charAt(i);
            if (c < 0x80) {
                out[n++] = (byte) c;
            } else if (c < 0x800) {
                out[n++] = (byte) (0xC0 | c >> 6);
                out[n++] = (byte) (0x80 | c & 0x3F);
            } else if (Character.isHighSurrogate((char) c) && i + 1 < to && Character.isLowSurrogate(text.charAt(i + 1))) {
                int cp = Character.toCodePoint((char) c, text.charAt(++i));
                out[n++] = (byte) (0xF0 | cp >> 18);
                out[n++] = (byte) (0x80 | cp >> 12 & 0x3F);
                out[n++] = (byte) (0x80 | cp >> 6 & 0x3F);
                out[n++] = (byte) (0x80 | cp & 0x3F);
            } else {
                if (Character.isSurrogate((char) c)) c = 0xFFFD;
                out[n++] = (byte) (0xE0 | c >> 12);
                out[n++] = (byte) (0x80 | c >> 6 & 0x3F);
                out[n++] = (byte) (0x80 | c & 0x3F);
            }
        }
        return n;
    }

    @Override
    public String decode(int[] ids) {
        int total = 0;
        for (int id : ids) total += bytesOf(id).length;
        byte[] all = new byte[total];
        int at = 0;
        for (int id : ids) {
            byte[] b = tokenBytes[id];
            System.arraycopy(b, 0, all, at, b.length);
            at += b.length;
        }
        return Utf8.decode(all, 0, all.length);
    }

    @Override
    public byte[] tokenBytes(int id) {
        return bytesOf(id).clone();
    }

    /** The shared (not copied) bytes of a token; an id outside the vocabulary is an error naming it. */
    byte[] bytesOf(int id) {
        if (id < 0 || id >= tokenBytes.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.." + (tokenBytes.length - 1) + ")");
        }
        return tokenBytes[id];
    }

    @Override
    public int vocabSize() { return tokenBytes.length; }

    @Override
    public int bosId() { return bosId; }

    @Override
    public int eosId() { return eosId; }

    @Override
    public int eotId() { return eotId; }

    /** End of message (a tool call follows), or -1. */
    public int eomId() { return eomId; }

    @Override
    public boolean addsBosByDefault() { return addBosByDefault && bosId >= 0; }

    @Override
    public boolean isEndOfGeneration(int id) {
        return id >= 0 && endOfGeneration.get(id);
    }

    @Override
    public int specialTokenId(String text) {
        return specialIds.getOrDefault(text, -1);
    }

    @Override
    public StreamingDecoder newStreamingDecoder() {
        return new Utf8StreamingDecoder(this::bytesOf);
    }

    /** The pre-tokenizer split regex (as written for Rust's engines). */
    public String splitRegex() { return preTokenizer.source(); }
}

package dev.herd.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herd.engine.gguf.GgufModel;
import dev.herd.engine.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static dev.herd.engine.tokenizer.TestResources.*;
import static org.junit.jupiter.api.Assertions.*;

class StreamingDecoderTest {

    static Tokenizer tokenizer;
    /** The id of the single-byte token for each byte value. */
    static int[] byteToken = new int[256];

    @BeforeAll
    static void load() throws Exception {
        try (GgufModel model = GgufModel.open(path("tokenizer/vocab.gguf"))) {
            tokenizer = Tokenizers.fromGguf(model.metadata());
        }
        Arrays.fill(byteToken, -1);
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            byte[] b = tokenizer.tokenBytes(id);
            if (b.length == 1 && !isSpecial(id)) byteToken[b[0] & 0xFF] = id;
        }
        for (int b = 0; b < 256; b++) assertTrue(byteToken[b] >= 0, "byte token " + b);
    }

    private static boolean isSpecial(int id) {
        return tokenizer.specialTokenId(new String(tokenizer.tokenBytes(id), StandardCharsets.UTF_8)) == id;
    }

    /**
     * At every token boundary the text emitted so far is the decoded prefix up to the last complete
     * character, and everything emitted plus {@code finish()} is the whole decoded text.
     */
    @Test
    void syntheticVocabularyGoldensStreamWholeCharactersAtEverySplitPoint() {
        List<int[]> sequences = new ArrayList<>();
        for (JsonNode c : jsonLines(path("tokenizer/tokenizer_goldens.jsonl"))) sequences.add(ints(c.get("ids")));
        assertTrue(streamAndCountSplitCharacters(tokenizer, sequences) > 20, "the goldens split characters across tokens");
    }

    @Test
    void llama4VocabularyGoldensStreamWholeCharactersAtEverySplitPoint() throws Exception {
        Tokenizer llama4 = Tokenizers.fromTiktoken(Fixtures.path("llama4-tokenizer/tokenizer.model"));
        List<int[]> sequences = new ArrayList<>();
        for (JsonNode c : json(path("hf-tiny-llama4/tokenizer_goldens.json")).get("cases")) sequences.add(ints(c.get("ids_special_allowed")));
        assertTrue(streamAndCountSplitCharacters(llama4, sequences) > 5, "the goldens split characters across tokens");
    }

    private static int streamAndCountSplitCharacters(Tokenizer t, List<int[]> sequences) {
        int splitsInsideCharacters = 0;
        for (int[] ids : sequences) {
            StreamingDecoder d = t.newStreamingDecoder();
            StringBuilder emitted = new StringBuilder();
            ByteArrayOutputStream bytesSoFar = new ByteArrayOutputStream();
            for (int id : ids) {
                emitted.append(d.append(id));
                bytesSoFar.writeBytes(t.tokenBytes(id));
                byte[] b = bytesSoFar.toByteArray();
                int complete = completePrefixLength(b);
                if (complete < b.length) splitsInsideCharacters++;
                assertEquals(new String(b, 0, complete, StandardCharsets.UTF_8), emitted.toString(), () -> Arrays.toString(ids));
            }
            emitted.append(d.finish());
            assertEquals(t.decode(ids), emitted.toString());
        }
        return splitsInsideCharacters;
    }

    /** The length of the longest prefix of valid UTF-8 {@code b} that ends on a character boundary. */
    private static int completePrefixLength(byte[] b) {
        int i = 0, lastBoundary = 0;
        while (i < b.length) {
            int lead = b[i] & 0xFF;
            int len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
            if (i + len > b.length) break;
            i += len;
            lastBoundary = i;
        }
        return lastBoundary;
    }

    /** Byte by byte through every 4-byte sequence over the interesting UTF-8 boundary values, valid or not. */
    @Test
    void anyByteSequenceStreamsToExactlyTheWholeDecode() {
        int[] values = {0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xED, 0xEF, 0xF0, 0xF1, 0xF4, 0xF5, 0xFF};
        int n = values.length;
        for (int i = 0; i < n * n * n * n; i++) {
            int[] ids = {byteToken[values[i % n]], byteToken[values[i / n % n]], byteToken[values[i / n / n % n]], byteToken[values[i / n / n / n]]};
            assertStreamsExactly(ids);
        }
        Random random = new Random(42);
        for (int i = 0; i < 20_000; i++) {
            int[] ids = new int[1 + random.nextInt(12)];
            for (int k = 0; k < ids.length; k++) ids[k] = byteToken[random.nextBoolean() ? 0x80 + random.nextInt(0x80) : random.nextInt(256)];
            assertStreamsExactly(ids);
        }
    }

    private static void assertStreamsExactly(int[] ids) {
        StreamingDecoder d = tokenizer.newStreamingDecoder();
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            String piece = d.append(id);
            assertFalse(!piece.isEmpty() && Character.isHighSurrogate(piece.charAt(piece.length() - 1)), "emitted half a surrogate pair");
            out.append(piece);
        }
        out.append(d.finish());
        assertEquals(tokenizer.decode(ids), out.toString(), () -> "ids " + Arrays.toString(ids));
    }

    @Test
    void holdsBackAnIncompleteCharacterUntilItCompletesOrTheStreamEnds() {
        byte[] euro = "€".getBytes(StandardCharsets.UTF_8);
        StreamingDecoder d = tokenizer.newStreamingDecoder();
        assertEquals("a", d.append(byteToken['a']));
        assertEquals("", d.append(byteToken[euro[0] & 0xFF]));
        assertEquals("", d.append(byteToken[euro[1] & 0xFF]));
        assertEquals("€", d.append(byteToken[euro[2] & 0xFF]));
        assertEquals("", d.append(byteToken[euro[0] & 0xFF]));
        assertEquals("\uFFFD", d.finish(), "a truncated character at the end becomes U+FFFD");
        assertEquals("", d.finish());
        assertEquals("<|eot|>", d.append(tokenizer.specialTokenId("<|eot|>")));
    }
}

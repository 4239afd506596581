package dev.herd.engine.tokenizer;

import dev.herd.engine.gguf.GgufFormatException;
import dev.herd.engine.gguf.GgufModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Loading from both file kinds, BPE on hand-made vocabularies, and clear errors for bad files. */
class TokenizersLoadTest {

    @TempDir
    Path dir;

    /** 256 byte tokens at ranks 0..255 (byte value = rank), then the given multi-byte tokens. */
    private Path tiktokenFile(String... merged) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int b = 0; b < 256; b++) lines.add(Base64.getEncoder().encodeToString(new byte[]{(byte) b}) + " " + b);
        for (String t : merged) lines.add(Base64.getEncoder().encodeToString(t.getBytes(StandardCharsets.UTF_8)) + " " + lines.size());
        Path file = dir.resolve("tokenizer.model");
        Files.write(file, lines);
        return file;
    }

    @Test
    void tiktokenMergesByTheRankOfTheJoinedBytes() throws Exception {
        Tokenizer t = Tokenizers.load(tiktokenFile("ab", "bc", "abc", "cd"));
        assertEquals(260 + 2048, t.vocabSize());
        assertArrayEquals(new int[]{258}, t.encode("abc", false, false), "a piece that is a token is taken whole");
        // ab (256) beats bc (257) and cd (259); then ab+c = abc (258) beats c+d (259).
        assertArrayEquals(new int[]{258, 'd'}, t.encode("abcd", false, false));
        assertArrayEquals(new int[]{257, 'd'}, t.encode("bcd", false, false), "bc (257) before cd (259); bcd is no token");
        assertEquals(260, t.bosId());
        assertArrayEquals(new int[]{260, 256, 260 + 8}, t.encode("ab<|eot|>", true, true));
        assertEquals(260 + 8, t.eotId());
        assertTrue(t.isEndOfGeneration(t.eotId()) && t.isEndOfGeneration(t.eosId()) && t.isEndOfGeneration(260 + 7));
        assertFalse(t.isEndOfGeneration(t.bosId()));
        assertEquals("ab<|eot|>", t.decode(new int[]{256, 260 + 8}));
    }

    @Test
    void loadRecognisesGgufByItsMagic() throws Exception {
        Tokenizer t = Tokenizers.load(TestResources.path("tokenizer/vocab.gguf"));
        assertEquals(1771, t.vocabSize());
    }

    @Test
    void missingOrUnreadableFilesAreClearErrors() throws Exception {
        assertThrows(NoSuchFileException.class, () -> Tokenizers.load(dir.resolve("nope.model")));
        assertMessage(TokenizerFormatException.class, "is a directory", () -> Tokenizers.load(dir));
        Path text = dir.resolve("notes.txt");
        Files.writeString(text, "hello world\n");
        assertMessage(TokenizerFormatException.class, "line 1: rank 'world' is not an integer", () -> Tokenizers.load(text));
        Files.writeString(text, "YQ== 0\nYg== 0\n");
        assertMessage(TokenizerFormatException.class, "line 2: rank 0 appears twice", () -> Tokenizers.load(text));
        Files.writeString(text, "YQ== 0\nYg== 2\nYw== 3\n");
        assertMessage(TokenizerFormatException.class, "no line has rank 1", () -> Tokenizers.load(text));
        Files.writeString(text, "Y*== 0\n");
        assertMessage(TokenizerFormatException.class, "line 1: 'Y*==' is not base64", () -> Tokenizers.load(text));
        Files.writeString(text, "YQ== 0\n");
        assertMessage(TokenizerFormatException.class, "no rank for the single byte 0x00", () -> Tokenizers.load(text));
        Files.writeString(text, "");
        assertMessage(TokenizerFormatException.class, "holds no tokens", () -> Tokenizers.load(text));
        Path dup = tiktokenFile("ab", "ab");
        assertMessage(TokenizerFormatException.class, "same token", () -> Tokenizers.load(dup));
    }

    /** A minimal valid GGUF tokenizer: byte tokens, merges "a b" and "ab c", two control tokens. */
    private static Map<String, Object> ggufVocab() {
        List<String> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) tokens.add(String.valueOf(ByteLevel.toChar(b)));
        tokens.add("ab");
        tokens.add("abc");
        tokens.add("<|begin_of_text|>");
        tokens.add("<|eot|>");
        tokens.add("xy");
        long[] types = new long[tokens.size()];
        java.util.Arrays.fill(types, 1);
        types[258] = 3;
        types[259] = 3;
        Map<String, Object> md = new HashMap<>();
        md.put("tokenizer.ggml.model", "gpt2");
        md.put("tokenizer.ggml.pre", "llama4");
        md.put("tokenizer.ggml.tokens", tokens.toArray(String[]::new));
        md.put("tokenizer.ggml.token_type", types);
        md.put("tokenizer.ggml.merges", new String[]{"a b", "ab c"});
        md.put("tokenizer.ggml.bos_token_id", 258L);
        md.put("tokenizer.ggml.eos_token_id", 259L);
        return md;
    }

    private static Tokenizer fromGguf(Map<String, Object> md) throws GgufFormatException {
        return Tokenizers.fromGguf(new GgufModel.Metadata(Path.of("test.gguf"), md));
    }

    @Test
    void ggufMergesApplyByRuleRankWithoutTheWholePieceShortcut() throws Exception {
        Tokenizer t = fromGguf(ggufVocab());
        int a = 'a'; // byte tokens sit at their byte value here
        assertArrayEquals(new int[]{258, 257}, t.encode("abc", true, false));
        assertArrayEquals(new int[]{256, 257}, t.encode("ababc", false, false), "a+b twice (rank 0), then ab+c (rank 1)");
        assertArrayEquals(new int[]{257, a}, t.encode("abca", false, false));
        assertArrayEquals(new int[]{'x', 'y'}, t.encode("xy", false, false), "no rule makes 'xy' although it is a token (llama.cpp's llama4 BPE has no whole-piece lookup)");
        assertEquals(259, t.eotId(), "found by its text when the GGUF names no eot_token_id");
        assertArrayEquals(new int[]{a, 259}, t.encode("a<|eot|>", false, true));
        assertEquals(1 + 7, t.encode("a<|eot|>", false, false).length);
    }

    @Test
    void badGgufVocabulariesNameTheKey() {
        Map<String, Object> md = ggufVocab();
        md.put("tokenizer.ggml.model", "llama");
        assertMessage(GgufFormatException.class, "tokenizer.ggml.model = 'llama' is not supported", () -> fromGguf(md));
        Map<String, Object> pre = ggufVocab();
        pre.put("tokenizer.ggml.pre", "qwen2");
        assertMessage(GgufFormatException.class, "tokenizer.ggml.pre = 'qwen2' is not supported", () -> fromGguf(pre));
        Map<String, Object> merges = ggufVocab();
        merges.put("tokenizer.ggml.merges", new String[]{"a b", "b c"});
        assertMessage(GgufFormatException.class, "tokenizer.ggml.merges[1] = 'b c': 'bc' is not a token", () -> fromGguf(merges));
        Map<String, Object> bos = ggufVocab();
        bos.put("tokenizer.ggml.bos_token_id", 999L);
        assertMessage(GgufFormatException.class, "tokenizer.ggml.bos_token_id = 999 is outside the vocabulary", () -> fromGguf(bos));
        Map<String, Object> types = ggufVocab();
        types.put("tokenizer.ggml.token_type", new long[3]);
        assertMessage(GgufFormatException.class, "token_type has 3 entries but tokenizer.ggml.tokens has 261", () -> fromGguf(types));
        Map<String, Object> noByte = ggufVocab();
        String[] tokens = ((String[]) noByte.get("tokenizer.ggml.tokens")).clone();
        tokens[0] = "!!";
        noByte.put("tokenizer.ggml.tokens", tokens);
        assertMessage(GgufFormatException.class, "no token for byte 0x00", () -> fromGguf(noByte));
        Map<String, Object> missing = ggufVocab();
        missing.remove("tokenizer.ggml.merges");
        assertMessage(GgufFormatException.class, "'tokenizer.ggml.merges' is missing", () -> fromGguf(missing));
    }

    @Test
    void unknownIdsAreRejectedByName() throws Exception {
        Tokenizer t = fromGguf(ggufVocab());
        assertMessage(IllegalArgumentException.class, "token id 261 is outside the vocabulary (0..260)", () -> t.decode(new int[]{1, 261}));
        assertMessage(IllegalArgumentException.class, "token id -1", () -> t.newStreamingDecoder().append(-1));
    }

    private static void assertMessage(Class<? extends Throwable> type, String fragment, org.junit.jupiter.api.function.Executable call) {
        Throwable e = assertThrows(type, call);
        assertTrue(e.getMessage().contains(fragment), () -> "message '" + e.getMessage() + "' should contain '" + fragment + "'");
    }
}

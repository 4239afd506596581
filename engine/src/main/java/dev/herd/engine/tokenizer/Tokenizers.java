package dev.herd.engine.tokenizer;

import dev.herd.engine.gguf.GgufFormatException;
import dev.herd.engine.gguf.GgufModel;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Builds a {@link Tokenizer} from a GGUF vocabulary or from Meta's tiktoken {@code tokenizer.model}. */
public final class Tokenizers {
    private Tokenizers() {}

    /** GGUF {@code tokenizer.ggml.token_type} values (llama.cpp's {@code llama_token_type}). */
    private static final int TYPE_UNKNOWN = 2, TYPE_CONTROL = 3, TYPE_USER_DEFINED = 4;

    /** Texts that end a generation wherever they occur in a vocabulary (as llama.cpp's list, plus Llama 4's). */
    private static final List<String> END_OF_GENERATION_TEXTS = List.of(
            "<|eot|>", "<|eom|>", "<|end_of_text|>", "<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>",
            "<end_of_turn>", "<|endoftext|>");
    /** End-of-turn candidates when the GGUF has no {@code eot_token_id}, most specific first. */
    private static final List<String> END_OF_TURN_TEXTS = List.of("<|eot|>", "<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<|end|>");
    private static final List<String> END_OF_MESSAGE_TEXTS = List.of("<|eom|>", "<|eom_id|>");

    /** A GGUF file (by its magic) or else a tiktoken BPE file. */
    public static Tokenizer load(Path file) throws IOException {
        if (!Files.exists(file)) throw new NoSuchFileException(file.toString());
        if (Files.isDirectory(file)) throw new TokenizerFormatException(file, "is a directory, expected a GGUF file or a tiktoken tokenizer.model");
        if (isGguf(file)) {
            try (GgufModel model = GgufModel.open(file)) {
                return fromGguf(model.metadata());
            }
        }
        return fromTiktoken(file);
    }

    private static boolean isGguf(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 'G' && magic[1] == 'G' && magic[2] == 'U' && magic[3] == 'F';
        }
    }

    /**
     * The byte-level BPE vocabulary of a GGUF ({@code tokenizer.ggml.model = gpt2}), tokenizing as
     * llama.cpp does: merge ranks from {@code tokenizer.ggml.merges}, the split regex named by
     * {@code tokenizer.ggml.pre} (Llama 4's follows tiktoken, combining marks included), CONTROL
     * tokens recognised when special parsing is asked for and USER_DEFINED tokens always.
     */
    public static Tokenizer fromGguf(GgufModel.Metadata md) throws GgufFormatException {
        String model = md.string("tokenizer.ggml.model");
        if (!model.equals("gpt2")) {
            throw new GgufFormatException(md.path(), "tokenizer.ggml.model = '" + model + "' is not supported; herd reads byte-level BPE vocabularies ('gpt2')");
        }
        String pre = md.string("tokenizer.ggml.pre", "default");
        PreTokenizer preTokenizer = PreTokenizer.forGgufPre(pre);
        if (preTokenizer == null) {
            throw new GgufFormatException(md.path(), "tokenizer.ggml.pre = '" + pre + "' is not supported; herd knows llama4, gpt-4o, llama-bpe/llama3 and gpt2/default");
        }
        String[] tokens = md.stringArray("tokenizer.ggml.tokens");
        int[] types = md.has("tokenizer.ggml.token_type") ? md.intArray("tokenizer.ggml.token_type") : null;
        if (types != null && types.length != tokens.length) {
            throw new GgufFormatException(md.path(), "tokenizer.ggml.token_type has " + types.length + " entries but tokenizer.ggml.tokens has " + tokens.length);
        }
        byte[][] bytes = new byte[tokens.length][];
        Map<String, Integer> control = new HashMap<>();
        Map<String, Integer> userDefined = new HashMap<>();
        byte[][] bpeKeys = new byte[tokens.length][];
        for (int id = 0; id < tokens.length; id++) {
            String text = tokens[id];
            int type = types == null ? 1 : types[id];
            if (type == TYPE_CONTROL || type == TYPE_UNKNOWN || type == TYPE_USER_DEFINED) {
                bytes[id] = text.getBytes(StandardCharsets.UTF_8);
                (type == TYPE_USER_DEFINED ? userDefined : control).put(text, id);
            } else {
                byte[] raw = ByteLevel.decode(text);
                // A text outside the byte mapping cannot come out of BPE; decode it as written.
                bytes[id] = raw != null ? raw : text.getBytes(StandardCharsets.UTF_8);
                if (raw != null) bpeKeys[id] = raw;
            }
        }
        ByteSequenceMap idOfBytes;
        try {
            idOfBytes = ByteSequenceMap.indexOf(bpeKeys);
        } catch (IllegalArgumentException e) {
            throw new GgufFormatException(md.path(), "tokenizer.ggml.tokens holds the same text twice (" + e.getMessage() + ")");
        }
        int[] byteTokens = new int[256];
        for (int b = 0; b < 256; b++) {
            int id = idOfBytes.get(new byte[]{(byte) b});
            if (id < 0) {
                throw new GgufFormatException(md.path(), String.format("tokenizer.ggml.tokens has no token for byte 0x%02X ('%c'); byte-level BPE needs all 256", b, ByteLevel.toChar(b)));
            }
            byteTokens[b] = id;
        }
        MergeTable table = mergeTable(md, md.stringArray("tokenizer.ggml.merges"), idOfBytes);
        // llama.cpp skips the whole-piece lookup except for Llama 3's vocabulary (its ignore_merges).
        boolean wholePieces = pre.equals("llama3") || pre.equals("llama-bpe");
        BytePairEncoder bpe = new BytePairEncoder(byteTokens, BytePairEncoder.byMergeRules(table),
                wholePieces ? idOfBytes : null);

        int bos = tokenId(md, "tokenizer.ggml.bos_token_id", tokens.length);
        int eos = tokenId(md, "tokenizer.ggml.eos_token_id", tokens.length);
        int eot = tokenId(md, "tokenizer.ggml.eot_token_id", tokens.length);
        if (eot < 0) eot = firstPresent(END_OF_TURN_TEXTS, control, userDefined);
        int eom = tokenId(md, "tokenizer.ggml.eom_token_id", tokens.length);
        if (eom < 0) eom = firstPresent(END_OF_MESSAGE_TEXTS, control, userDefined);
        BitSet eog = endOfGeneration(tokens.length, control, userDefined, eos, eot, eom);
        boolean addBos = md.bool("tokenizer.ggml.add_bos_token", bos >= 0);
        return new BpeTokenizer(bytes, control, userDefined, preTokenizer, bpe, bos, eos, eot, eom, eog, addBos);
    }

    /**
     * Merge rules by token ids. Rules are resolved through the tokens' bytes (a flat map, no string
     * per lookup) since 440k rules x 3 lookups in a {@code HashMap<String, Integer>} take most of a second.
     */
    private static MergeTable mergeTable(GgufModel.Metadata md, String[] merges, ByteSequenceMap idOfBytes) throws GgufFormatException {
        MergeTable table = new MergeTable(merges.length);
        byte[] buffer = new byte[64];
        for (int rank = 0; rank < merges.length; rank++) {
            String rule = merges[rank];
            int space = rule.indexOf(' ', 1);
            if (space < 0) throw new GgufFormatException(md.path(), "tokenizer.ggml.merges[" + rank + "] = '" + rule + "' is not 'LEFT RIGHT'");
            if (buffer.length < rule.length()) buffer = new byte[rule.length() * 2];
            int n = 0;
            for (int i = 0; i < rule.length(); i++) {
                if (i == space) continue;
                int b = ByteLevel.toByte(rule.charAt(i));
                if (b < 0) {
                    throw new GgufFormatException(md.path(), "tokenizer.ggml.merges[" + rank + "] = '" + rule + "' has a character outside the byte-level alphabet at " + i);
                }
                buffer[n++] = (byte) b;
            }
            int left = idOfBytes.get(buffer, 0, space), right = idOfBytes.get(buffer, space, n), merged = idOfBytes.get(buffer, 0, n);
            if (left < 0 || right < 0 || merged < 0) {
                String missing = left < 0 ? rule.substring(0, space) : right < 0 ? rule.substring(space + 1) : rule.substring(0, space) + rule.substring(space + 1);
                throw new GgufFormatException(md.path(), "tokenizer.ggml.merges[" + rank + "] = '" + rule + "': '" + missing + "' is not a token in tokenizer.ggml.tokens");
            }
            table.put(left, right, rank, merged);
        }
        return table;
    }

    /**
     * Meta's Llama 4 {@code tokenizer.model}: one {@code base64(token) rank} per line, ranks 0..n-1,
     * tokenized as tiktoken does (the o200k split, BPE by the rank of the joined bytes, a piece that
     * is itself a token taken whole), with Llama 4's 2048 special tokens at ids n..n+2047.
     */
    public static Tokenizer fromTiktoken(Path file) throws IOException {
        byte[] data = Files.readAllBytes(file);
        byte[][] ranked = parseTiktokenRanks(file, data);
        int n = ranked.length;
        ByteSequenceMap ranks;
        try {
            ranks = ByteSequenceMap.indexOf(ranked);
        } catch (IllegalArgumentException e) {
            throw new TokenizerFormatException(file, "two lines hold the same token (" + e.getMessage() + ")");
        }
        int[] byteTokens = new int[256];
        for (int b = 0; b < 256; b++) {
            byteTokens[b] = ranks.get(new byte[]{(byte) b});
            if (byteTokens[b] < 0) throw new TokenizerFormatException(file, String.format("has no rank for the single byte 0x%02X; byte-level BPE needs all 256", b));
        }
        List<String> specialTexts = Llama4SpecialTokens.texts();
        byte[][] bytes = new byte[n + specialTexts.size()][];
        System.arraycopy(ranked, 0, bytes, 0, n);
        Map<String, Integer> control = new HashMap<>();
        for (int i = 0; i < specialTexts.size(); i++) {
            bytes[n + i] = specialTexts.get(i).getBytes(StandardCharsets.UTF_8);
            control.put(specialTexts.get(i), n + i);
        }
        BytePairEncoder bpe = new BytePairEncoder(byteTokens, BytePairEncoder.byMergedBytes(ranks), ranks);
        int bos = control.get("<|begin_of_text|>"), eos = control.get("<|end_of_text|>");
        int eot = control.get("<|eot|>"), eom = control.get("<|eom|>");
        BitSet eog = new BitSet(bytes.length);
        eog.set(eos);
        eog.set(eot);
        eog.set(eom);
        return new BpeTokenizer(bytes, control, Map.of(), PreTokenizer.of(PreTokenizer.O200K_PATTERN), bpe, bos, eos, eot, eom, eog, true);
    }

    /** The token bytes by rank: every line is {@code base64 SPACE rank}, and the ranks are 0..n-1 in any order. */
    private static byte[][] parseTiktokenRanks(Path file, byte[] data) throws TokenizerFormatException {
        int lines = 1;
        for (byte b : data) if (b == '\n') lines++;
        byte[][] byRank = new byte[lines][];
        int n = 0, lineNo = 0;
        for (int at = 0; at < data.length; at++) {
            int end = at;
            while (end < data.length && data[end] != '\n') end++;
            lineNo++;
            int lineEnd = end > at && data[end - 1] == '\r' ? end - 1 : end;
            if (lineEnd > at) {
                int space = at;
                while (space < lineEnd && data[space] != ' ') space++;
                if (space == at || space + 1 >= lineEnd) {
                    throw new TokenizerFormatException(file, "line " + lineNo + ": expected 'BASE64TOKEN RANK' (is this a tiktoken tokenizer.model?)");
                }
                long rank = 0;
                for (int i = space + 1; i < lineEnd && rank <= Integer.MAX_VALUE; i++) {
                    int d = data[i] - '0';
                    rank = d >= 0 && d <= 9 ? rank * 10 + d : Long.MAX_VALUE;
                }
                if (rank >= lines) {
                    throw new TokenizerFormatException(file, "line " + lineNo + ": rank '" + ascii(data, space + 1, lineEnd)
                            + "' is not an integer in 0.." + (lines - 1) + " (ranks must number the lines 0..n-1)");
                }
                if (byRank[(int) rank] != null) throw new TokenizerFormatException(file, "line " + lineNo + ": rank " + rank + " appears twice");
                byte[] token = Base64Ranges.decode(data, at, space);
                if (token == null || token.length == 0) {
                    throw new TokenizerFormatException(file, "line " + lineNo + ": '" + ascii(data, at, space) + "' is not base64 of a non-empty token");
                }
                byRank[(int) rank] = token;
                n++;
            }
            at = end;
        }
        if (n == 0) throw new TokenizerFormatException(file, "holds no tokens");
        for (int r = 0; r < n; r++) {
            if (byRank[r] == null) throw new TokenizerFormatException(file, "no line has rank " + r + "; ranks must be 0.." + (n - 1));
        }
        return java.util.Arrays.copyOf(byRank, n);
    }

    private static String ascii(byte[] data, int from, int to) {
        return new String(data, from, Math.min(to - from, 60), StandardCharsets.ISO_8859_1);
    }

    private static int tokenId(GgufModel.Metadata md, String key, int vocabSize) throws GgufFormatException {
        if (!md.has(key)) return -1;
        long id = md.integer(key);
        // llama.cpp writes -1 (as uint32 0xFFFFFFFF) for "none".
        if (id == -1 || id == 0xFFFFFFFFL) return -1;
        if (id < 0 || id >= vocabSize) throw new GgufFormatException(md.path(), key + " = " + id + " is outside the vocabulary (0.." + (vocabSize - 1) + ")");
        return (int) id;
    }

    private static int firstPresent(List<String> texts, Map<String, Integer> control, Map<String, Integer> userDefined) {
        for (String t : texts) {
            Integer id = control.containsKey(t) ? control.get(t) : userDefined.get(t);
            if (id != null) return id;
        }
        return -1;
    }

    private static BitSet endOfGeneration(int vocabSize, Map<String, Integer> control, Map<String, Integer> userDefined, int... ids) {
        BitSet eog = new BitSet(vocabSize);
        for (int id : ids) if (id >= 0) eog.set(id);
        for (String t : END_OF_GENERATION_TEXTS) {
            Integer id = control.containsKey(t) ? control.get(t) : userDefined.get(t);
            if (id != null) eog.set(id);
        }
        return eog;
    }
}

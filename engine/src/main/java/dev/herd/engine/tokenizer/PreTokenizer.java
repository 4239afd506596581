package dev.herd.engine.tokenizer;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into the pieces BPE runs on, with the split regex of the vocabulary's family. The
 * patterns are written for Rust's regex engines (tiktoken, Hugging Face tokenizers); {@link #compile}
 * rewrites the two constructs whose meaning differs in {@code java.util.regex} so the split is the
 * same: {@code \s}/{@code \S} (ASCII-only in Java, Unicode White_Space in Rust) and ASCII letters
 * under {@code (?i:...)} (Rust folds with Unicode simple case folding, so {@code 's} also matches
 * {@code 'ſ}; Java's case-insensitive modes either miss that or also accept dotless i).
 */
final class PreTokenizer {

    /** Llama 4 and GPT-4o ({@code o200k_base}); Meta's {@code llama_models/llama4/tokenizer.py}. */
    static final String O200K_PATTERN =
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
            + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
            + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** Llama 3 (cl100k_base with 1-3 digit groups). */
    static final String LLAMA3_PATTERN =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** GPT-2. */
    static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    private final String source;
    private final Pattern pattern;

    private PreTokenizer(String source) {
        this.source = source;
        this.pattern = compile(source);
    }

    static PreTokenizer of(String rustRegex) {
        return new PreTokenizer(rustRegex);
    }

    /** The split of a GGUF {@code tokenizer.ggml.pre} name, as llama.cpp maps it; null when herd does not know it. */
    static PreTokenizer forGgufPre(String pre) {
        return switch (pre) {
            case "llama4", "gpt-4o" -> of(O200K_PATTERN);
            case "llama3", "llama-bpe" -> of(LLAMA3_PATTERN);
            case "gpt2", "default" -> of(GPT2_PATTERN);
            default -> null;
        };
    }

    /** The regex as written for Rust. */
    String source() { return source; }

    Matcher matcher(CharSequence text) {
        return pattern.matcher(text);
    }

    /** Rewrites a Rust-flavoured split regex into a {@link Pattern} that matches the same pieces. */
    static Pattern compile(String rust) {
        StringBuilder out = new StringBuilder(rust.length() + 64);
        int caseInsensitiveDepth = -1; // paren depth at which a (?i: group opened, -1 outside one
        int depth = 0;
        boolean inClass = false;
        for (int i = 0; i < rust.length(); i++) {
            char c = rust.charAt(i);
            if (c == '\\' && i + 1 < rust.length()) {
                char e = rust.charAt(++i);
                if (e == 's') out.append(inClass ? "\\p{IsWhite_Space}" : "[\\p{IsWhite_Space}]");
                else if (e == 'S') out.append(inClass ? "\\P{IsWhite_Space}" : "[^\\p{IsWhite_Space}]");
                else out.append(c).append(e);
                continue;
            }
            if (inClass) {
                if (c == ']') inClass = false;
                out.append(c);
                continue;
            }
            switch (c) {
                case '[' -> {
                    inClass = true;
                    out.append(c);
                    if (i + 1 < rust.length() && rust.charAt(i + 1) == '^') out.append(rust.charAt(++i));
                    if (i + 1 < rust.length() && rust.charAt(i + 1) == ']') out.append(rust.charAt(++i));
                }
                case '(' -> {
                    depth++;
                    if (rust.startsWith("(?i:", i)) {
                        if (caseInsensitiveDepth >= 0) throw new IllegalArgumentException("nested (?i: groups are not supported: " + rust);
                        caseInsensitiveDepth = depth;
                        out.append("(?:");
                        i += 3;
                    } else {
                        out.append(c);
                    }
                }
                case ')' -> {
                    if (depth == caseInsensitiveDepth) caseInsensitiveDepth = -1;
                    depth--;
                    out.append(c);
                }
                default -> {
                    if (caseInsensitiveDepth >= 0 && c < 128 && Character.isLetter(c)) out.append(caseFoldClass(c));
                    else out.append(c);
                }
            }
        }
        if (inClass || depth != 0) throw new IllegalArgumentException("unbalanced split regex: " + rust);
        return Pattern.compile(out.toString());
    }

    /** The characters Unicode simple case folding puts together with an ASCII letter. */
    private static String caseFoldClass(char c) {
        char lower = Character.toLowerCase(c);
        String extra = switch (lower) {
            case 's' -> "\u017F"; // LATIN SMALL LETTER LONG S
            case 'k' -> "\u212A"; // KELVIN SIGN
            default -> "";
        };
        return "[" + lower + Character.toUpperCase(lower) + extra + "]";
    }
}

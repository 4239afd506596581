package dev.herd.engine.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;

import static org.junit.jupiter.api.Assertions.*;

/** The Llama 4 split regex behaves as tiktoken's Rust engine, not as java.util.regex would by default. */
class PreTokenizerTest {

    private static final PreTokenizer LLAMA4 = PreTokenizer.forGgufPre("llama4");

    private static List<String> split(String text) {
        List<String> pieces = new ArrayList<>();
        Matcher m = LLAMA4.matcher(text);
        while (m.find()) pieces.add(m.group());
        assertEquals(text, String.join("", pieces), "the pieces cover the text");
        return pieces;
    }

    // Expected splits are those of tiktoken's pattern under Python's `regex` module (Rust semantics).

    @Test
    void splitsWordsNumbersPunctuationAndWhitespace() {
        assertEquals(List.of("Hello", ",", " world", "!!!\n\n", " ", " ", "123", "456", "7"), split("Hello, world!!!\n\n  1234567"));
        assertEquals(List.of("HTTPServer", "Error", " XMLHttp", "Request"), split("HTTPServerError XMLHttpRequest"));
        assertEquals(List.of("I'm", " sure", " they'LL"), split("I'm sure they'LL"));
    }

    @Test
    void whitespaceIsUnicodeWhiteSpaceAsInRust() {
        // U+3000 and U+00A0 are White_Space (Rust's \s) but not Java's default \s.
        assertEquals(List.of("a", "\u3000", "\u3000b"), split("a\u3000\u3000b"));
        assertEquals(List.of("x", "\u00A0", " y"), split("x\u00A0 y"));
        assertEquals(List.of("end", "\u2028"), split("end\u2028"));
    }

    @Test
    void contractionsFoldCaseLikeRust() {
        // Unicode simple case folding puts 's' with 'S' and LONG S, but 'i' not with DOTLESS I or DOTTED CAPITAL I
        // (which Java's UNICODE_CASE would accept).
        assertEquals(List.of("it'\u017F"), split("it'\u017F"));
        assertEquals(List.of("WE'RE"), split("WE'RE"));
        assertEquals(List.of("it", "'\u0131"), split("it'\u0131"));
        assertEquals(List.of("it", "'\u0130"), split("it'\u0130"));
        assertEquals(List.of("we'll", "\u0131"), split("we'll\u0131"));
    }

    @Test
    void combiningMarksStayInTheirWord() {
        // Devanagari vowel signs are \p{M}; tiktoken keeps them with the letters (llama.cpp's approximation does not).
        assertEquals(List.of("नमस्ते", " दुनिया"), split("नमस्ते दुनिया"));
        assertEquals(List.of("e\u0301t\u00e9"), split("e\u0301t\u00e9"));
    }

    @Test
    void rewritesOnlyWhatDiffers() {
        assertEquals("[^\\r\\n\\p{L}\\p{N}]?[\\p{IsWhite_Space}]+(?:'[sSſ])",
                PreTokenizer.compile("[^\\r\\n\\p{L}\\p{N}]?\\s+(?i:'s)").pattern());
        assertEquals("[^\\p{IsWhite_Space}\\p{L}]|[^\\p{IsWhite_Space}]", PreTokenizer.compile("[^\\s\\p{L}]|\\S").pattern());
        assertThrows(IllegalArgumentException.class, () -> PreTokenizer.compile("(a"));
        assertNull(PreTokenizer.forGgufPre("no-such-pre"));
    }
}

package dev.herd.engine.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class SpecialTokenMatcherTest {

    private static String render(String text, List<SpecialTokenMatcher.Fragment> fragments) {
        StringBuilder s = new StringBuilder();
        for (SpecialTokenMatcher.Fragment f : fragments) {
            s.append(f.isText() ? "'" + text.substring(f.start(), f.end()) + "'" : "#" + f.id()).append(' ');
        }
        return s.toString().trim();
    }

    @Test
    void longerSpecialTextsAreClaimedFirstAsLlamaCppDoes() {
        SpecialTokenMatcher m = new SpecialTokenMatcher(Map.of("ab", 1, "bcd", 2), Map.of());
        // Leftmost matching would take "ab"; llama.cpp's partition claims the longer "bcd" first.
        assertEquals("'a' #2", render("abcd", m.partition("abcd", true)));
        assertEquals("#1 'x' #1 #1", render("abxabab", m.partition("abxabab", true)));
        assertEquals("'aaa' #1 'b'", render("aaaabb", new SpecialTokenMatcher(Map.of("ab", 1), Map.of()).partition("aaaabb", true)));
    }

    @Test
    void controlTokensNeedParseSpecialButUserDefinedOnesAlwaysMatch() {
        SpecialTokenMatcher m = new SpecialTokenMatcher(Map.of("<|eot|>", 7), Map.of("<tool>", 9));
        String text = "x<|eot|><tool>y";
        assertEquals("'x' #7 #9 'y'", render(text, m.partition(text, true)));
        assertEquals("'x<|eot|>' #9 'y'", render(text, m.partition(text, false)));
        assertEquals("'<|eot|'", render("<|eot|", m.partition("<|eot|", true)));
        assertEquals("''", render("", m.partition("", true)));
    }
}

package dev.herd.engine.tokenizer;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Expected strings are Python's {@code bytes.decode('utf-8', 'replace')}, which tiktoken's decode uses. */
class Utf8Test {

    private static String decode(String hex) {
        byte[] b = HexFormat.of().parseHex(hex);
        return Utf8.decode(b, 0, b.length);
    }

    @Test
    void replacesEachMaximalInvalidSubpartOnce() {
        assertEquals("a\uFFFD\uFFFD\uFFFDb\uFFFDc\uFFFD\uFFFDd", decode("61f18080e180c262806380bf64")); // Unicode Table 3-8
        assertEquals("\uFFFD\uFFFD\uFFFDA", decode("eda08041"), "an encoded surrogate is three invalid bytes");
        assertEquals("\uFFFDA", decode("e28241"));
        assertEquals("\uFFFD", decode("f09f98"), "a truncated character at the end");
        assertEquals("\uFFFD\uFFFD", decode("c0af"), "overlong");
        assertEquals("\uFFFD\uFFFD\uFFFD\uFFFD", decode("f4908080"), "above U+10FFFF");
        assertEquals("\uD800\uDC00", decode("f0908080"));
    }

    @Test
    void validTextRoundTrips() {
        Random random = new Random(7);
        for (int i = 0; i < 2000; i++) {
            StringBuilder s = new StringBuilder();
            for (int k = random.nextInt(20); k > 0; k--) {
                int cp;
                do { cp = random.nextInt(4) == 0 ? random.nextInt(0x110000) : random.nextInt(0x800); } while (cp >= 0xD800 && cp <= 0xDFFF);
                s.appendCodePoint(cp);
            }
            byte[] b = s.toString().getBytes(StandardCharsets.UTF_8);
            assertEquals(s.toString(), Utf8.decode(b, 0, b.length));
        }
    }
}

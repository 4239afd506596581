package dev.herd.spark.config;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class PromptTemplateTest {
    @Test
    void rendersColumnsAndLiteralBraces() {
        PromptTemplate t = PromptTemplate.parse("Summarise {title}: {text} {{json}} {title}");
        assertEquals(List.of("title", "text"), t.columns());
        assertEquals("Summarise A: body {json} A", t.render(Map.of("title", "A", "text", "body")));
        assertEquals("no columns", PromptTemplate.parse("no columns").render(Map.of()));
    }

    @Test
    void aNullValueNamesItsColumn() {
        Map<String, String> values = new HashMap<>();
        values.put("title", "A");
        values.put("text", null);
        PromptTemplate.MissingValueException e = assertThrows(PromptTemplate.MissingValueException.class,
                () -> PromptTemplate.parse("{title} {text}").render(values));
        assertEquals("text", e.column());
        assertEquals("column 'text' is null", e.getMessage());
    }

    @Test
    void malformedTemplatesNamePosition() {
        assertEquals("prompt.template: '{' at position 4 is never closed (write '{{' for a literal brace)",
                assertThrows(ConfigException.class, () -> PromptTemplate.parse("abc {x")).getMessage());
        assertEquals("prompt.template: '}' at position 1 has no opening '{' (write '}}' for a literal brace)",
                assertThrows(ConfigException.class, () -> PromptTemplate.parse("a}")).getMessage());
        assertEquals("prompt.template: '{ }' at position 0 does not name a column",
                assertThrows(ConfigException.class, () -> PromptTemplate.parse("{ }")).getMessage());
    }
}

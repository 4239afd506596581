package dev.herd.spark.config;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A prompt built from a row's columns: {@code "Summarise: {text}"} puts column {@code text} in
 * place. {@code {{} and {@code }}} stand for literal braces.
 */
public final class PromptTemplate implements Serializable {
    private final String source;
    /** Literal text at even indexes, column names at odd ones. */
    private final List<String> parts;

    private PromptTemplate(String source, List<String> parts) {
        this.source = source;
        this.parts = parts;
    }

    /** @throws ConfigException naming {@code prompt.template} when a brace is unbalanced or a name empty */
    public static PromptTemplate parse(String template) {
        List<String> parts = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        for (int i = 0; i < template.length(); i++) {
            char c = template.charAt(i);
            if (c == '{' && i + 1 < template.length() && template.charAt(i + 1) == '{') {
                literal.append('{');
                i++;
            } else if (c == '}' && i + 1 < template.length() && template.charAt(i + 1) == '}') {
                literal.append('}');
                i++;
            } else if (c == '{') {
                int end = template.indexOf('}', i + 1);
                if (end < 0) throw new ConfigException("prompt.template: '{' at position " + i + " is never closed (write '{{' for a literal brace)");
                String name = template.substring(i + 1, end).trim();
                if (name.isEmpty() || name.contains("{")) {
                    throw new ConfigException("prompt.template: '{" + template.substring(i + 1, end) + "}' at position " + i + " does not name a column");
                }
                parts.add(literal.toString());
                literal.setLength(0);
                parts.add(name);
                i = end;
            } else if (c == '}') {
                throw new ConfigException("prompt.template: '}' at position " + i + " has no opening '{' (write '}}' for a literal brace)");
            } else {
                literal.append(c);
            }
        }
        parts.add(literal.toString());
        return new PromptTemplate(template, List.copyOf(parts));
    }

    /** The columns the template reads, in order of first use. */
    public List<String> columns() {
        LinkedHashSet<String> names = new LinkedHashSet<>();
        for (int i = 1; i < parts.size(); i += 2) names.add(parts.get(i));
        return List.copyOf(names);
    }

    /**
     * The prompt for one row.
     *
     * @param value a column's value as text, or null when the row has none
     * @throws MissingValueException naming the first column whose value is null
     */
    public String render(Function<String, String> value) {
        StringBuilder out = new StringBuilder(parts.getFirst());
        for (int i = 1; i < parts.size(); i += 2) {
            String v = value.apply(parts.get(i));
            if (v == null) throw new MissingValueException(parts.get(i));
            out.append(v).append(parts.get(i + 1));
        }
        return out.toString();
    }

    public String render(Map<String, String> values) {
        return render(values::get);
    }

    @Override
    public String toString() { return source; }

    /** A row without a value for a column the template needs. */
    public static final class MissingValueException extends RuntimeException {
        private final String column;

        public MissingValueException(String column) {
            super("column '" + column + "' is null", null, false, false);
            this.column = column;
        }

        public String column() { return column; }
    }
}

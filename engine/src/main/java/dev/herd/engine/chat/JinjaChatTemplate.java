package dev.herd.engine.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.herd.engine.ChatMessage;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model's {@code tokenizer.chat_template} (Jinja), rendered with Jinjava the way Hugging Face's
 * {@code apply_chat_template} renders it: {@code trim_blocks} and {@code lstrip_blocks} on,
 * {@code messages} as dicts whose {@code content} is a string for a single text part and otherwise
 * a list of {@code {type: text, text}} / {@code {type: image}} parts, {@code bos_token},
 * {@code eos_token}, {@code add_generation_prompt}, and the globals {@code raise_exception} and
 * {@code strftime_now}. {@code trim} strips what Python's {@code str.strip()} strips.
 */
public final class JinjaChatTemplate implements ChatTemplate {

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    /**
     * @param bosToken the text of the BOS token ({@code <|begin_of_text|>}), or "" when there is none
     * @param eosToken the text of the EOS token, or ""
     */
    public JinjaChatTemplate(String source, String bosToken, String eosToken) {
        this.source = Objects.requireNonNull(source, "source");
        this.bosToken = Objects.requireNonNull(bosToken, "bosToken");
        this.eosToken = Objects.requireNonNull(eosToken, "eosToken");
        this.jinjava = newJinjava();
        checkFiltersAndTestsExist(source, jinjava);
    }

    public String source() { return source; }

    private static Jinjava newJinjava() {
        LegacyOverrides jinja2Semantics = LegacyOverrides.newBuilder()
                .withUseTrimmingForNotesAndExpressions(true)
                .withParseWhitespaceControlStrictly(true)
                .withAllowAdjacentTextNodes(true)
                .withUseNaturalOperatorPrecedence(true)
                .withIterateOverMapKeys(true)
                .withEvaluateMapKeys(true)
                .withKeepNullableLoopValues(true)
                .build();
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withFailOnUnknownTokens(false)
                .withLegacyOverrides(jinja2Semantics)
                .build();
        Jinjava j = new Jinjava(config);
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", JinjaChatTemplate.class, "raiseException", String.class));
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now", JinjaChatTemplate.class, "strftimeNow", String.class));
        j.getGlobalContext().registerFilter(new PythonStripFilter());
        return j;
    }

    @Override
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        Map<String, Object> bindings = new HashMap<>();
        bindings.put("messages", toDicts(messages));
        bindings.put("add_generation_prompt", addGenerationPrompt);
        bindings.put("bos_token", bosToken);
        bindings.put("eos_token", eosToken);
        RenderResult result;
        try {
            result = jinjava.renderForResult(source, bindings);
        } catch (RuntimeException e) {
            throw new ChatTemplateException("chat template failed to render: " + describe(e), e);
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                Throwable cause = error.getException();
                TemplateRaised raised = findRaised(cause);
                String what = raised != null ? "raise_exception(\"" + raised.getMessage() + "\")" : error.getMessage();
                throw new ChatTemplateException("chat template line " + error.getLineno() + ": " + what, cause);
            }
        }
        return result.getOutput();
    }

    private static TemplateRaised findRaised(Throwable t) {
        for (; t != null; t = t.getCause()) if (t instanceof TemplateRaised r) return r;
        return null;
    }

    private static String describe(Throwable e) {
        TemplateRaised raised = findRaised(e);
        if (raised != null) return "raise_exception(\"" + raised.getMessage() + "\")";
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private static final Pattern BLOCK = Pattern.compile("\\{#.*?#}|\\{%-?\\s*raw\\s*-?%}.*?\\{%-?\\s*endraw\\s*-?%}|\\{\\{(.*?)}}|\\{%(.*?)%}", Pattern.DOTALL);
    private static final Pattern STRING_LITERAL = Pattern.compile("'(?:[^'\\\\]|\\\\.)*'|\"(?:[^\"\\\\]|\\\\.)*\"");
    private static final Pattern FILTER = Pattern.compile("(?<!\\|)\\|(?!\\|)\\s*([A-Za-z_]\\w*)");
    private static final Pattern TEST = Pattern.compile("\\bis\\s+(?:not\\s+)?([A-Za-z_]\\w*)");

    /**
     * Jinjava renders an unknown filter as nothing, silently, where Jinja fails; a template that
     * needs a filter or test Jinjava lacks must fail loudly instead of producing a wrong prompt.
     */
    private static void checkFiltersAndTestsExist(String source, Jinjava jinjava) {
        Matcher block = BLOCK.matcher(source);
        while (block.find()) {
            String code = block.group(1) != null ? block.group(1) : block.group(2);
            if (code == null) continue;
            code = STRING_LITERAL.matcher(code).replaceAll("''");
            int line = 1 + (int) source.substring(0, block.start()).chars().filter(c -> c == '\n').count();
            for (Matcher f = FILTER.matcher(code); f.find(); ) {
                if (jinjava.getGlobalContext().getFilter(f.group(1)) == null) {
                    throw new ChatTemplateException("chat template line " + line + ": uses the filter '" + f.group(1) + "', which the Jinja renderer (Jinjava) does not provide");
                }
            }
            for (Matcher t = TEST.matcher(code); t.find(); ) {
                if (jinjava.getGlobalContext().getExpTest(t.group(1)) == null) {
                    throw new ChatTemplateException("chat template line " + line + ": uses the test 'is " + t.group(1) + "', which the Jinja renderer (Jinjava) does not provide");
                }
            }
        }
    }

    /** Messages as Hugging Face hands them to templates. */
    static List<Map<String, Object>> toDicts(List<ChatMessage> messages) {
        List<Map<String, Object>> out = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> dict = new LinkedHashMap<>();
            dict.put("role", m.role());
            List<ChatMessage.Content> parts = m.content();
            if (parts.isEmpty()) {
                dict.put("content", "");
            } else if (parts.size() == 1 && parts.getFirst() instanceof ChatMessage.Content.Text t) {
                dict.put("content", t.text());
            } else {
                List<Map<String, Object>> list = new ArrayList<>(parts.size());
                for (ChatMessage.Content part : parts) {
                    Map<String, Object> p = new LinkedHashMap<>();
                    switch (part) {
                        case ChatMessage.Content.Text t -> {
                            p.put("type", "text");
                            p.put("text", t.text());
                        }
                        case ChatMessage.Content.Image ignored -> p.put("type", "image");
                    }
                    list.add(p);
                }
                dict.put("content", list);
            }
            out.add(dict);
        }
        return out;
    }

    /** {@code raise_exception(message)}: the template's own refusal, e.g. for roles it does not support. */
    public static String raiseException(String message) {
        throw new TemplateRaised(message);
    }

    /** {@code strftime_now(format)}: the current local time in Python {@code strftime} notation. */
    public static String strftimeNow(String format) {
        return strftime(ZonedDateTime.now(), format);
    }

    static String strftime(ZonedDateTime t, String format) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                out.append(c);
                continue;
            }
            char d = format.charAt(++i);
            switch (d) {
                case 'd' -> out.append(String.format("%02d", t.getDayOfMonth()));
                case 'm' -> out.append(String.format("%02d", t.getMonthValue()));
                case 'Y' -> out.append(t.getYear());
                case 'y' -> out.append(String.format("%02d", t.getYear() % 100));
                case 'H' -> out.append(String.format("%02d", t.getHour()));
                case 'M' -> out.append(String.format("%02d", t.getMinute()));
                case 'S' -> out.append(String.format("%02d", t.getSecond()));
                case 'b' -> out.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> out.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'j' -> out.append(String.format("%03d", t.getDayOfYear()));
                case 'Z' -> out.append(t.format(DateTimeFormatter.ofPattern("zzz", Locale.ENGLISH)));
                case '%' -> out.append('%');
                default -> throw new TemplateRaised("strftime_now: unsupported directive %" + d);
            }
        }
        return out.toString();
    }

    /** What {@code raise_exception} throws; Jinjava reports it as a fatal error. */
    static final class TemplateRaised extends RuntimeException {
        TemplateRaised(String message) { super(message); }
    }

    /** Jinja's {@code trim}: Python's {@code str.strip(chars)}, whose default whitespace is wider than Java's. */
    static final class PythonStripFilter implements Filter {
        @Override
        public String getName() { return "trim"; }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var == null) return "";
            String s = var.toString();
            String chars = args.length > 0 && args[0] != null ? args[0] : null;
            int start = 0, end = s.length();
            while (start < end && strips(s.charAt(start), chars)) start++;
            while (end > start && strips(s.charAt(end - 1), chars)) end--;
            return s.substring(start, end);
        }

        private static boolean strips(char c, String chars) {
            return chars != null ? chars.indexOf(c) >= 0 : isPythonSpace(c);
        }

        /** Python's {@code str.isspace()}: Unicode White_Space plus the ASCII separators U+001C..U+001F. */
        static boolean isPythonSpace(char c) {
            return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680
                    || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
        }
    }
}

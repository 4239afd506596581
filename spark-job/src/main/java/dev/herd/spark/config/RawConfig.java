package dev.herd.spark.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A job description flattened to dotted keys ({@code sampling.temperature}) with typed values:
 * the YAML file first, then {@code key=value} overrides. Unknown keys and wrong types are
 * collected as problems, each naming the key.
 */
final class RawConfig {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    final Map<String, Object> values = new LinkedHashMap<>();
    final List<String> problems = new ArrayList<>();

    static RawConfig parse(String yaml, String source, List<String> overrides) {
        RawConfig raw = new RawConfig();
        JsonNode root;
        try {
            root = yaml.isBlank() ? null : YAML.readTree(yaml);
        } catch (JsonProcessingException e) {
            throw new ConfigException(source + " is not valid YAML: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"));
        }
        if (root != null && !root.isMissingNode() && !root.isNull()) {
            if (!root.isObject()) throw new ConfigException(source + " must be a YAML map of keys, got " + root.getNodeType());
            raw.flatten(root, "");
        }
        for (String override : overrides) raw.override(override);
        return raw;
    }

    private void flatten(JsonNode node, String prefix) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            String path = prefix.isEmpty() ? field.getKey() : prefix + "." + field.getKey();
            Keys.Spec spec = Keys.ALL.get(path);
            if (spec != null) {
                set(path, spec, field.getValue(), path);
            } else if (field.getValue().isObject() && isPrefixOfKnownKey(path)) {
                flatten(field.getValue(), path);
            } else {
                problems.add(unknown(path));
            }
        }
    }

    private void override(String override) {
        int eq = override.indexOf('=');
        if (eq <= 0) {
            problems.add("override '" + override + "' is not key=value");
            return;
        }
        String key = override.substring(0, eq).trim();
        String text = override.substring(eq + 1);
        JsonNode value;
        try {
            value = text.isEmpty() ? YAML.getNodeFactory().textNode("") : YAML.readTree(text);
        } catch (JsonProcessingException e) {
            problems.add("override " + key + "=" + text + ": the value is not valid YAML (" + e.getOriginalMessage() + ")");
            return;
        }
        if (value == null || value.isMissingNode()) value = YAML.getNodeFactory().textNode(text);
        Keys.Spec spec = Keys.ALL.get(key);
        if (spec != null) {
            set(key, spec, value, "override " + key);
            return;
        }
        // One entry of a map key, e.g. input.options.header=true.
        for (Map.Entry<String, Keys.Spec> known : Keys.ALL.entrySet()) {
            if (known.getValue().type() == Keys.Type.STRING_MAP && key.startsWith(known.getKey() + ".")) {
                if (!value.isValueNode()) {
                    problems.add("override " + key + " must be a single value");
                    return;
                }
                @SuppressWarnings("unchecked")
                Map<String, String> map = (Map<String, String>) values.computeIfAbsent(known.getKey(), k -> new LinkedHashMap<String, String>());
                map.put(key.substring(known.getKey().length() + 1), value.asText());
                return;
            }
        }
        problems.add(unknown(key));
    }

    private void set(String key, Keys.Spec spec, JsonNode node, String where) {
        if (node == null || node.isNull()) {
            values.remove(key);
            return;
        }
        Object value = convert(spec, node);
        if (value == null) {
            problems.add(where + " must be " + spec.describe() + ", got " + show(node));
        } else {
            values.put(key, value);
        }
    }

    /** The value as the spec's Java type, or null when the node does not fit it. */
    private static Object convert(Keys.Spec spec, JsonNode node) {
        return switch (spec.type()) {
            case STRING -> node.isValueNode() ? node.asText() : null;
            case INT -> node.isIntegralNumber() && node.canConvertToInt() ? node.intValue() : null;
            case LONG -> node.isIntegralNumber() && node.canConvertToLong() ? node.longValue() : null;
            case NUMBER -> node.isNumber() ? node.doubleValue() : null;
            case BOOL -> node.isBoolean() ? node.booleanValue() : null;
            case ENUM -> node.isTextual() && spec.values().contains(node.textValue()) ? node.textValue() : null;
            case ENUM_ANY_CASE -> node.isTextual()
                    ? spec.values().stream().filter(v -> v.equalsIgnoreCase(node.textValue().strip())).findFirst().orElse(null)
                    : null;
            case STRING_LIST -> {
                if (node.isValueNode()) yield List.of(node.asText());
                if (!node.isArray()) yield null;
                List<String> list = new ArrayList<>();
                for (JsonNode item : node) {
                    if (!item.isValueNode() || item.isNull()) yield null;
                    list.add(item.asText());
                }
                yield Collections.unmodifiableList(list);
            }
            case STRING_MAP -> {
                if (!node.isObject()) yield null;
                Map<String, String> map = new LinkedHashMap<>();
                for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    if (!e.getValue().isValueNode()) yield null;
                    map.put(e.getKey(), e.getValue().asText());
                }
                yield map;
            }
        };
    }

    private static boolean isPrefixOfKnownKey(String path) {
        return Keys.ALL.keySet().stream().anyMatch(k -> k.startsWith(path + "."));
    }

    private static String unknown(String key) {
        String close = Keys.closest(key);
        return "unknown key '" + key + "'" + (close == null ? "" : " (did you mean '" + close + "'?)");
    }

    private static String show(JsonNode node) {
        String s = node.isTextual() ? "'" + node.textValue() + "'" : node.toString();
        return s.length() > 80 ? s.substring(0, 77) + "..." : s;
    }
}

package dev.herd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.herd.engine.gguf.GgufArray;
import dev.herd.engine.gguf.GgufFile;
import dev.herd.engine.gguf.GgufModel;
import dev.herd.engine.gguf.GgufTensorInfo;
import dev.herd.engine.gguf.GgufValue;
import dev.herd.engine.gguf.GgufValueType;
import dev.herd.engine.tensor.GgmlType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.lang.reflect.Array;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** {@code herd inspect FILE}: a GGUF file's (or split model's) header, metadata and tensor table. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"Shows a GGUF model: version, parts, alignment, metadata and the tensor table with totals.",
                "Give the first part of a split model (name-00001-of-0000N.gguf); the other parts are found beside it."},
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:the file was read", "1:the file is missing, unreadable or not a valid GGUF file", "2:bad arguments"})
public final class InspectCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "the .gguf file (first part of a split model)")
    Path file;

    @Option(names = "--json", description = "print JSON (metadata keyed by name, tensors in file order) instead of text")
    boolean json;

    @Option(names = "--full", description = "show every array element and whole strings (the chat template among them)")
    boolean full;

    @Option(names = "--values", paramLabel = "N", defaultValue = "8",
            description = "array elements to show without --full (default: ${DEFAULT-VALUE})")
    int shownValues;

    /** Strings longer than this are cut in the text output unless --full. */
    private static final int SHOWN_CHARS = 96;

    @Override
    public void run() {
        if (shownValues < 0) throw new CliException("--values must be 0 or more, got " + shownValues);
        try (GgufModel model = GgufModel.open(file)) {
            PrintWriter out = spec.commandLine().getOut();
            if (json) out.println(toJson(model));
            else printText(model, out);
            out.flush();
        } catch (java.nio.file.AccessDeniedException e) {
            throw new CliException(e.getFile() + ": permission denied", 1);
        } catch (IOException e) {
            throw new CliException(e.getMessage() != null ? e.getMessage() : e.toString(), 1);
        }
    }

    // ---- text ----

    private void printText(GgufModel model, PrintWriter out) {
        GgufFile first = model.parts().getFirst();
        long totalSize = model.parts().stream().mapToLong(GgufFile::fileSize).sum();
        out.printf("%s: GGUF v%d, %s, alignment %d%n", model.path(), first.version(), bytes(totalSize), first.alignment());
        if (model.parts().size() > 1) {
            out.printf("%nparts (%d):%n", model.parts().size());
            for (int i = 0; i < model.parts().size(); i++) {
                GgufFile p = model.parts().get(i);
                out.printf("  %d  %s  %s, %d tensors, %d keys%n", i + 1, p.path().getFileName(), bytes(p.fileSize()), p.tensors().size(), p.entries().size());
            }
        }

        out.printf("%nmetadata (%d keys):%n", first.entries().size());
        int keyWidth = first.entries().keySet().stream().mapToInt(String::length).max().orElse(0);
        for (Map.Entry<String, GgufValue> e : first.entries().entrySet()) {
            GgufValue v = e.getValue();
            String type = v.value() instanceof GgufArray a ? a.elementType().displayName() + "[" + a.length() + "]" : v.type().displayName();
            if (full && v.value() instanceof String s && s.contains("\n")) {
                out.printf("  %-" + keyWidth + "s  %-14s (%d chars):%n", e.getKey(), type, s.length());
                s.lines().forEach(line -> out.println("      | " + line));
            } else {
                out.printf("  %-" + keyWidth + "s  %-14s %s%n", e.getKey(), type, text(v));
            }
        }

        boolean split = model.parts().size() > 1;
        out.printf("%ntensors (%d):%n", model.tensors().size());
        int nameWidth = Math.max(4, model.tensors().keySet().stream().mapToInt(String::length).max().orElse(0));
        String header = String.format("  %5s  %-" + nameWidth + "s  %-7s  %-24s  %14s  %14s%s", "#", "name", "type", "shape (ne)", "bytes", "offset", split ? "  part" : "");
        out.println(header);
        int index = 0;
        for (int part = 0; part < model.parts().size(); part++) {
            GgufFile p = model.parts().get(part);
            for (GgufTensorInfo t : p.tensors().values()) {
                out.printf("  %5d  %-" + nameWidth + "s  %-7s  %-24s  %,14d  %,14d%s%n", index++, t.name(), t.type(), Arrays.toString(t.ne()),
                        t.byteSize(), p.dataOffset() + t.offset(), split ? "  " + (part + 1) : "");
            }
        }
        out.printf("  (offset: byte offset of the tensor's data in its file)%n");
        Map<GgmlType, long[]> byType = totalsByType(model);
        out.printf("%ntotals: %,d tensors, %,d parameters, %s of tensor data%n", model.tensors().size(),
                sum(byType, PARAMETERS), bytes(sum(byType, BYTES)));
        byType.forEach((type, acc) -> out.printf("  %-7s %,8d tensors  %,16d parameters  %12s%n", type, acc[TENSORS], acc[PARAMETERS], bytes(acc[BYTES])));
    }

    /** A value on one line: strings quoted and escaped, arrays summarised unless --full. */
    private String text(GgufValue v) {
        return switch (v.value()) {
            case String s -> quoted(s);
            case GgufArray a -> arrayText(a);
            default -> scalarText(v.type(), v.value());
        };
    }

    private String arrayText(GgufArray a) {
        int n = a.length();
        int shown = full ? n : Math.min(n, shownValues);
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < shown; i++) {
            if (i > 0) b.append(", ");
            Object element = Array.get(a.elements(), i);
            b.append(switch (element) {
                case String s -> quoted(s);
                case GgufArray inner -> inner.elementType().displayName() + "[" + inner.length() + "] " + arrayText(inner);
                default -> scalarText(a.elementType(), element);
            });
        }
        if (shown < n) b.append(shown > 0 ? ", " : "").append("... ").append(n - shown).append(" more");
        return b.append(']').toString();
    }

    private static String scalarText(GgufValueType type, Object v) {
        return type == GgufValueType.UINT64 ? Long.toUnsignedString((Long) v) : String.valueOf(v);
    }

    private String quoted(String s) {
        StringBuilder b = new StringBuilder("\"");
        int limit = full ? Integer.MAX_VALUE : SHOWN_CHARS;
        int i = 0;
        for (; i < s.length() && b.length() <= limit; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '\r' -> b.append("\\r");
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20 || c == 0x7f) b.append(String.format("\\x%02x", (int) c));
                    else b.append(c);
                }
            }
        }
        b.append('"');
        if (i < s.length()) b.append("... (").append(s.length()).append(" chars; --full shows all)");
        return b.toString();
    }

    private static String bytes(long n) {
        if (n < 1024) return n + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.2f %s", v, units[u]);
    }

    private static final int TENSORS = 0, PARAMETERS = 1, BYTES = 2;

    /** Per type: tensors, parameters, bytes. */
    private static Map<GgmlType, long[]> totalsByType(GgufModel model) {
        Map<GgmlType, long[]> byType = new TreeMap<>();
        for (GgufFile p : model.parts()) {
            for (GgufTensorInfo t : p.tensors().values()) {
                long[] acc = byType.computeIfAbsent(t.type(), k -> new long[3]);
                acc[TENSORS]++;
                acc[PARAMETERS] += t.elementCount();
                acc[BYTES] += t.byteSize();
            }
        }
        return byType;
    }

    private static long sum(Map<GgmlType, long[]> byType, int column) {
        return byType.values().stream().mapToLong(a -> a[column]).sum();
    }

    // ---- JSON ----

    private String toJson(GgufModel model) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        GgufFile first = model.parts().getFirst();
        ObjectNode root = f.objectNode();
        root.put("file", model.path().toString());
        root.put("version", first.version());
        root.put("alignment", first.alignment());
        ArrayNode parts = root.putArray("parts");
        for (GgufFile p : model.parts()) {
            parts.addObject().put("path", p.path().toString()).put("size", p.fileSize())
                    .put("data_offset", p.dataOffset()).put("tensors", p.tensors().size()).put("keys", p.entries().size());
        }
        ObjectNode metadata = root.putObject("metadata");
        first.entries().forEach((k, v) -> {
            ObjectNode entry = metadata.putObject(k);
            entry.put("type", v.type().displayName());
            if (v.value() instanceof GgufArray a) arrayJson(a, entry);
            else entry.set("value", scalarJson(v.type(), v.value()));
        });
        ArrayNode tensors = root.putArray("tensors");
        for (int part = 0; part < model.parts().size(); part++) {
            GgufFile p = model.parts().get(part);
            for (GgufTensorInfo t : p.tensors().values()) {
                ObjectNode o = tensors.addObject();
                o.put("name", t.name()).put("type", t.type().name());
                ArrayNode ne = o.putArray("ne");
                for (long d : t.ne()) ne.add(d);
                o.put("elements", t.elementCount()).put("bytes", t.byteSize()).put("part", part + 1)
                        .put("offset", p.dataOffset() + t.offset()).put("data_offset", t.offset());
            }
        }
        Map<GgmlType, long[]> byType = totalsByType(model);
        ObjectNode totals = root.putObject("totals");
        totals.put("tensors", model.tensors().size()).put("parameters", sum(byType, PARAMETERS)).put("bytes", sum(byType, BYTES));
        ObjectNode types = totals.putObject("by_type");
        byType.forEach((type, acc) -> types.putObject(type.name()).put("tensors", acc[TENSORS]).put("parameters", acc[PARAMETERS]).put("bytes", acc[BYTES]));
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void arrayJson(GgufArray a, ObjectNode into) {
        into.put("element_type", a.elementType().displayName());
        into.put("length", a.length());
        int shown = full ? a.length() : Math.min(a.length(), shownValues);
        ArrayNode values = into.putArray("values");
        for (int i = 0; i < shown; i++) {
            Object element = Array.get(a.elements(), i);
            if (element instanceof GgufArray inner) arrayJson(inner, values.addObject());
            else values.add(scalarJson(a.elementType(), element));
        }
        into.put("truncated", shown < a.length());
    }

    private static JsonNode scalarJson(GgufValueType type, Object v) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        return switch (v) {
            case Long n when type == GgufValueType.UINT64 && n < 0 -> f.numberNode(new BigInteger(Long.toUnsignedString(n)));
            case Long n -> f.numberNode(n);
            case Float x when Float.isFinite(x) -> f.numberNode(x);
            case Double x when Double.isFinite(x) -> f.numberNode(x);
            case Boolean b -> f.booleanNode(b);
            case String s -> f.textNode(s);
            // JSON has no NaN or infinities: they become strings.
            default -> f.textNode(String.valueOf(v));
        };
    }
}

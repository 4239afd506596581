package dev.herd.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.herd.engine.tokenizer.Tokenizer;
import dev.herd.engine.tokenizer.Tokenizers;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code herd tokenize --model FILE --input cases.jsonl}: one {@code {"ids":[...]}} line on stdout for
 * each input line {@code {"text":..., "add_bos":bool, "parse_special":bool}}, in order. Other tools
 * drive this contract; keep it exactly.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Tokenizes JSON Lines: each input line {\"text\": STRING, \"add_bos\": BOOL, \"parse_special\": BOOL}",
                "gives one output line {\"ids\": [INT, ...]} on stdout, in the same order. Blank lines are skipped."})
public final class TokenizeCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "FILE",
            description = "A GGUF model or vocabulary, or a tiktoken tokenizer.model (Meta's Llama 4 format).")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "FILE", description = "The JSON Lines cases; '-' reads standard input.")
    String input;

    @Override
    public Integer call() throws IOException {
        Tokenizer tokenizer = load(model);
        PrintWriter out = spec.commandLine().getOut();
        try (BufferedReader reader = open(input)) {
            StringBuilder line = new StringBuilder();
            int lineNo = 0;
            for (String text; (text = reader.readLine()) != null; ) {
                lineNo++;
                if (text.isBlank()) continue;
                Case c = parse(text, lineNo);
                int[] ids = tokenizer.encode(c.text(), c.addBos(), c.parseSpecial());
                line.setLength(0);
                line.append("{\"ids\":[");
                for (int i = 0; i < ids.length; i++) {
                    if (i > 0) line.append(',');
                    line.append(ids[i]);
                }
                out.println(line.append("]}"));
            }
        }
        out.flush();
        return 0;
    }

    private static Tokenizer load(Path model) {
        if (!Files.exists(model)) throw new CliException("--model: no such file: " + model);
        try {
            return Tokenizers.load(model);
        } catch (IOException e) {
            throw new CliException("--model: cannot read a tokenizer from " + model + ": " + e.getMessage());
        }
    }

    private static BufferedReader open(String input) throws IOException {
        if (input.equals("-")) return new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try {
            return Files.newBufferedReader(Path.of(input), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new CliException("--input: no such file: " + input);
        }
    }

    private record Case(String text, boolean addBos, boolean parseSpecial) {}

    private Case parse(String line, int lineNo) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw bad(lineNo, "not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (node == null || !node.isObject()) throw bad(lineNo, "expected a JSON object {\"text\": ..., \"add_bos\": ..., \"parse_special\": ...}");
        JsonNode text = node.get("text");
        if (text == null || !text.isTextual()) throw bad(lineNo, "\"text\" must be a string");
        return new Case(text.asText(), flag(node, "add_bos", lineNo), flag(node, "parse_special", lineNo));
    }

    private boolean flag(JsonNode node, String name, int lineNo) {
        JsonNode v = node.get(name);
        if (v == null || !v.isBoolean()) throw bad(lineNo, "\"" + name + "\" must be true or false");
        return v.booleanValue();
    }

    private CliException bad(int lineNo, String what) {
        return new CliException(input + " line " + lineNo + ": " + what);
    }
}

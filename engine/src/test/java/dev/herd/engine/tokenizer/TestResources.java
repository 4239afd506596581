package dev.herd.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** Golden files copied into src/test/resources (small data from ../shared/fixtures). */
public final class TestResources {
    private TestResources() {}

    public static final ObjectMapper JSON = new ObjectMapper();

    public static Path path(String name) {
        URL url = TestResources.class.getResource("/" + name);
        if (url == null) throw new AssertionError("test resource " + name + " is missing");
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    public static JsonNode json(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<JsonNode> jsonLines(Path file) {
        try {
            List<JsonNode> out = new ArrayList<>();
            for (String line : Files.readAllLines(file)) if (!line.isBlank()) out.add(JSON.readTree(line));
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    public static byte[] hex(JsonNode text) {
        return HexFormat.of().parseHex(text.asText());
    }
}

package dev.herd.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The JSON the CLI prints: one compact object per line. */
final class Json {
    private Json() {}

    static final ObjectMapper MAPPER = new ObjectMapper();

    static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}

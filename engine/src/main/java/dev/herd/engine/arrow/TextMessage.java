package dev.herd.engine.arrow;

import java.util.Objects;

/** One chat turn as it travels in a request batch's {@code messages} column. */
public record TextMessage(String role, String content) {
    public TextMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }
}

package dev.herd.engine;

import java.util.List;
import java.util.Objects;

/** One chat turn: a role (system, user, assistant…) and its content parts in order. */
public record ChatMessage(String role, List<Content> content) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        content = List.copyOf(content);
    }

    public static ChatMessage text(String role, String text) {
        return new ChatMessage(role, List.of(new Content.Text(text)));
    }

    /** A part of a message: text, or an encoded image (JPEG, PNG, …). */
    public sealed interface Content {
        record Text(String text) implements Content {
            public Text { Objects.requireNonNull(text, "text"); }
        }

        record Image(byte[] encoded) implements Content {
            public Image { Objects.requireNonNull(encoded, "encoded"); }
        }
    }
}

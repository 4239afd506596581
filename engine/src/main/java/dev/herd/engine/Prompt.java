package dev.herd.engine;

import java.util.List;
import java.util.Objects;

/** What a request feeds the model: raw text, token ids, or chat messages rendered by the model's template. */
public sealed interface Prompt {

    /**
     * Plain text, tokenized as is.
     *
     * @param addBos       prepend BOS (what {@code llama-cli} and evaluation harnesses do)
     * @param parseSpecial recognise special-token texts such as {@code <|eot|>}
     * @param images       encoded images; each replaces one {@code <|image|>} in the text, in order,
     *                     or, if the text has none, goes before the text
     */
    record Text(String text, boolean addBos, boolean parseSpecial, List<byte[]> images) implements Prompt {
        public Text {
            Objects.requireNonNull(text, "text");
            images = List.copyOf(images);
        }

        public Text(String text) { this(text, true, false, List.of()); }
    }

    /** Token ids fed as they are (no BOS added). */
    record Tokens(int[] ids) implements Prompt {
        public Tokens { Objects.requireNonNull(ids, "ids"); }
    }

    /** Chat messages rendered with the model's chat template, with the assistant turn opened. */
    record Chat(List<ChatMessage> messages) implements Prompt {
        public Chat { messages = List.copyOf(messages); }
    }
}

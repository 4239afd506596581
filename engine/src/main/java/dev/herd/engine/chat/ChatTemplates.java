package dev.herd.engine.chat;

import dev.herd.engine.gguf.GgufFormatException;
import dev.herd.engine.gguf.GgufModel;
import dev.herd.engine.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;

/** The chat template of a model: its own {@code tokenizer.chat_template}, else Llama 4's format. */
public final class ChatTemplates {
    private ChatTemplates() {}

    /**
     * Llama 4's chat format (what llama.cpp's built-in {@code llama4} handler writes): BOS, then per
     * message {@code <|header_start|>ROLE<|header_end|>\n\n} + the trimmed text (an image part as
     * {@code <|image|>}) + {@code <|eot|>}, then the assistant header when a reply is wanted.
     */
    public static final String LLAMA4_DEFAULT = """
            {{- bos_token }}
            {%- for message in messages %}
                {{- '<|header_start|>' + message['role'] + '<|header_end|>\\n\\n' }}
                {%- if message['content'] is string %}
                    {{- message['content'] | trim }}
                {%- else %}
                    {%- for content in message['content'] %}
                        {%- if content['type'] == 'image' %}
                            {{- '<|image|>' }}
                        {%- elif content['type'] == 'text' %}
                            {{- content['text'] | trim }}
                        {%- endif %}
                    {%- endfor %}
                {%- endif %}
                {{- '<|eot|>' }}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- '<|header_start|>assistant<|header_end|>\\n\\n' }}
            {%- endif %}
            """;

    /** The GGUF's {@code tokenizer.chat_template}, or {@link #LLAMA4_DEFAULT} when it has none. */
    public static ChatTemplate forModel(GgufModel.Metadata metadata, Tokenizer tokenizer) throws GgufFormatException {
        String source = metadata.string("tokenizer.chat_template", null);
        return new JinjaChatTemplate(source != null ? source : LLAMA4_DEFAULT, tokenText(tokenizer, tokenizer.bosId()), tokenText(tokenizer, tokenizer.eosId()));
    }

    /** Llama 4's format with the tokenizer's BOS text. */
    public static ChatTemplate llama4Default(Tokenizer tokenizer) {
        return new JinjaChatTemplate(LLAMA4_DEFAULT, tokenText(tokenizer, tokenizer.bosId()), tokenText(tokenizer, tokenizer.eosId()));
    }

    private static String tokenText(Tokenizer tokenizer, int id) {
        return id < 0 ? "" : new String(tokenizer.tokenBytes(id), StandardCharsets.UTF_8);
    }
}

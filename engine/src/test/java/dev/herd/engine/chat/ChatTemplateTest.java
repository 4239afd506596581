package dev.herd.engine.chat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herd.engine.ChatMessage;
import dev.herd.engine.gguf.GgufModel;
import dev.herd.engine.testing.Fixtures;
import dev.herd.engine.tokenizer.Tokenizer;
import dev.herd.engine.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.herd.engine.tokenizer.TestResources.*;
import static org.junit.jupiter.api.Assertions.*;

class ChatTemplateTest {

    static List<ChatMessage> messages(JsonNode array) {
        List<ChatMessage> out = new ArrayList<>();
        for (JsonNode m : array) {
            JsonNode content = m.get("content");
            if (content.isTextual()) {
                out.add(ChatMessage.text(m.get("role").asText(), content.asText()));
                continue;
            }
            List<ChatMessage.Content> parts = new ArrayList<>();
            for (JsonNode p : content) {
                parts.add(p.get("type").asText().equals("image") ? new ChatMessage.Content.Image(new byte[0]) : new ChatMessage.Content.Text(p.get("text").asText()));
            }
            out.add(new ChatMessage(m.get("role").asText(), parts));
        }
        return out;
    }

    /** llama.cpp's built-in llama4 handler output (no BOS) and the ids of BOS + that text. */
    @Test
    void ggufTemplateRendersLlamaCppChatGoldens() throws Exception {
        Tokenizer tokenizer;
        ChatTemplate template;
        try (GgufModel model = GgufModel.open(path("tokenizer/vocab.gguf"))) {
            tokenizer = Tokenizers.fromGguf(model.metadata());
            template = ChatTemplates.forModel(model.metadata(), tokenizer);
        }
        JsonNode goldens = json(path("tokenizer/chat_template_goldens.json"));
        assertEquals(3, goldens.get("cases").size());
        for (JsonNode c : goldens.get("cases")) {
            String rendered = template.render(messages(c.get("messages")), c.get("add_ass").asBoolean());
            assertEquals("<|begin_of_text|>" + c.get("formatted").asText(), rendered, c.get("name").asText());
            // The rendered string already starts with BOS: tokenize it without adding another.
            assertArrayEquals(ints(c.get("ids")), tokenizer.encode(rendered, false, true), c.get("name").asText());
            assertArrayEquals(ints(c.get("ids")), tokenizer.encode(c.get("formatted").asText(), true, true), c.get("name").asText());
        }
    }

    /** transformers' apply_chat_template with the Llama 4 template, then tiktoken ids (text and image prompts). */
    @Test
    void huggingFaceTemplateRendersTransformersPrompts() throws Exception {
        Tokenizer tokenizer = Tokenizers.fromTiktoken(Fixtures.path("llama4-tokenizer/tokenizer.model"));
        String source = Files.readString(path("hf-tiny-llama4/chat_template.jinja"));
        ChatTemplate template = new JinjaChatTemplate(source, "<|begin_of_text|>", "<|eot|>");
        ChatTemplate fromGguf;
        try (GgufModel model = GgufModel.open(Fixtures.path("hf-tiny-llama4/gguf/tiny-llama4-bf16.gguf"))) {
            fromGguf = ChatTemplates.forModel(model.metadata(), Tokenizers.fromGguf(model.metadata()));
        }
        int checked = 0;
        for (String name : List.of("text_p1_short", "text_p2_system", "text_p3_long", "text_p4_100tok")) {
            JsonNode g = json(Fixtures.path("hf-tiny-llama4/goldens/" + name + ".json"));
            List<ChatMessage> msgs = messages(g.get("messages"));
            String rendered = template.render(msgs, true);
            assertEquals(g.get("prompt_text").asText(), rendered, name);
            assertEquals(rendered, fromGguf.render(msgs, true), name + " with the GGUF's copy of the template");
            assertArrayEquals(ints(g.get("prompt_ids")), tokenizer.encode(rendered, false, true), name);
            checked++;
        }
        for (String name : List.of("img_a_80x56", "img_b_300x200", "img_c_48x48", "img_d_56x56")) {
            JsonNode g = json(Fixtures.path("hf-tiny-llama4/goldens/" + name + ".json"));
            assertEquals(g.get("prompt_text_before_expansion").asText(), template.render(messages(g.get("messages")), true), name);
            checked++;
        }
        assertEquals(8, checked);
    }

    @Test
    void rendersConcurrently() throws Exception {
        ChatTemplate template = new JinjaChatTemplate(Files.readString(path("hf-tiny-llama4/chat_template.jinja")), "<|begin_of_text|>", "<|eot|>");
        List<List<ChatMessage>> conversations = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            conversations.add(List.of(ChatMessage.text("system", "You are assistant " + i + "."), ChatMessage.text("user", "Question " + i)));
        }
        List<String> sequential = conversations.stream().map(c -> template.render(c, true)).toList();
        assertEquals(sequential, conversations.parallelStream().map(c -> template.render(c, true)).toList());
        assertTrue(sequential.get(7).contains("You are assistant 7.<|eot|><|header_start|>user<|header_end|>\n\nQuestion 7<|eot|>"), sequential.get(7));
    }

    @Test
    void defaultFormatIsLlama4s() throws Exception {
        Tokenizer tokenizer = Tokenizers.load(path("tokenizer/vocab.gguf"));
        ChatTemplate template = ChatTemplates.llama4Default(tokenizer);
        List<ChatMessage> msgs = List.of(ChatMessage.text("system", " Be brief. "), ChatMessage.text("user", "Hi"),
                new ChatMessage("user", List.of(new ChatMessage.Content.Image(new byte[]{1}), new ChatMessage.Content.Text(" What is this?"))));
        assertEquals("<|begin_of_text|><|header_start|>system<|header_end|>\n\nBe brief.<|eot|>"
                + "<|header_start|>user<|header_end|>\n\nHi<|eot|>"
                + "<|header_start|>user<|header_end|>\n\n<|image|>What is this?<|eot|>"
                + "<|header_start|>assistant<|header_end|>\n\n", template.render(msgs, true));
        assertEquals("<|begin_of_text|><|header_start|>user<|header_end|>\n\nHi<|eot|>", template.render(List.of(ChatMessage.text("user", "Hi")), false));
        // A GGUF without tokenizer.chat_template gets the same format.
        ChatTemplate forModel = ChatTemplates.forModel(new GgufModel.Metadata(Path.of("no-template.gguf"), java.util.Map.of()), tokenizer);
        assertEquals(template.render(msgs, true), forModel.render(msgs, true));
    }

    @Test
    void trimStripsWhatPythonStrips() {
        ChatTemplate t = new JinjaChatTemplate("[{{ messages[0]['content'] | trim }}]", "", "");
        assertEquals("[hi]", t.render(List.of(ChatMessage.text("user", "\u3000\u00A0 hi\n\u001F")), false));
        assertEquals("[\u0001hi]", t.render(List.of(ChatMessage.text("user", "\u0001hi ")), false), "control characters are not whitespace to Python");
        assertEquals("[hi]", new JinjaChatTemplate("[{{ 'xxhix' | trim('x') }}]", "", "").render(List.of(), false));
    }

    @Test
    void templateErrorsNameWhatFailed() {
        ChatTemplate raising = new JinjaChatTemplate("{% for m in messages %}{% if m.role == 'tool' %}{{ raise_exception('Tool role is not supported') }}{% endif %}{{ m.content }}{% endfor %}", "", "");
        assertEquals("ok", raising.render(List.of(ChatMessage.text("user", "ok")), false));
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> raising.render(List.of(ChatMessage.text("tool", "x")), false));
        assertTrue(e.getMessage().contains("Tool role is not supported"), e.getMessage());

        ChatTemplate broken = new JinjaChatTemplate("line one\n{% if messages %}never closed", "", "");
        ChatTemplateException syntax = assertThrows(ChatTemplateException.class, () -> broken.render(List.of(ChatMessage.text("user", "x")), false));
        assertTrue(syntax.getMessage().startsWith("chat template line 2: "), syntax.getMessage());

        ChatTemplateException method = assertThrows(ChatTemplateException.class,
                () -> new JinjaChatTemplate("{{ messages[0].content.upper() }}", "", "").render(List.of(ChatMessage.text("user", "x")), false));
        assertTrue(method.getMessage().contains("upper"), method.getMessage());

        // Jinjava would silently render an unknown filter as nothing; the template is refused up front instead.
        ChatTemplateException filter = assertThrows(ChatTemplateException.class,
                () -> new JinjaChatTemplate("{{ '<|image|>' }}\n{{ messages | frobnicate }}", "", ""));
        assertEquals("chat template line 2: uses the filter 'frobnicate', which the Jinja renderer (Jinjava) does not provide", filter.getMessage());
        ChatTemplateException test = assertThrows(ChatTemplateException.class, () -> new JinjaChatTemplate("{% if x is not wobbly %}{% endif %}", "", ""));
        assertTrue(test.getMessage().contains("'is wobbly'"), test.getMessage());
    }

    @Test
    void strftimeFollowsPythonDirectives() {
        var t = java.time.ZonedDateTime.of(2024, 7, 26, 9, 5, 3, 0, java.time.ZoneOffset.UTC);
        assertEquals("26 Jul 2024", JinjaChatTemplate.strftime(t, "%d %b %Y"));
        assertEquals("2024-07-26 09:05:03 Friday 100%", JinjaChatTemplate.strftime(t, "%Y-%m-%d %H:%M:%S %A 100%%"));
    }
}

package dev.herd.engine.chat;

import dev.herd.engine.ChatMessage;

import java.util.List;

/** Renders chat messages into the prompt text the model was trained on. Thread-safe. */
public interface ChatTemplate {

    /**
     * @param addGenerationPrompt open the assistant's turn at the end
     * @throws ChatTemplateException naming what in the template or the messages could not render
     */
    String render(List<ChatMessage> messages, boolean addGenerationPrompt);
}

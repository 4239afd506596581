package dev.herd.engine.chat;

/** A chat template that cannot be parsed or rendered for the given messages. */
public class ChatTemplateException extends RuntimeException {
    public ChatTemplateException(String message, Throwable cause) { super(message, cause); }
    public ChatTemplateException(String message) { super(message); }
}

package dev.herd.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * The 2048 special tokens Meta's {@code llama_models/llama4/tokenizer.py} appends after the tiktoken
 * ranks of {@code tokenizer.model} (which itself holds no special tokens), in id order.
 */
final class Llama4SpecialTokens {
    private Llama4SpecialTokens() {}

    static final int COUNT = 2048;

    static List<String> texts() {
        List<String> t = new ArrayList<>(COUNT);
        t.addAll(List.of("<|begin_of_text|>", "<|end_of_text|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"));
        t.addAll(List.of("<|header_start|>", "<|header_end|>", "<|eom|>", "<|eot|>", "<|step|>"));
        reserved(t, "text_post_train", 0, 6);
        t.addAll(List.of("<|python_start|>", "<|python_end|>", "<|finetune_right_pad|>"));
        reserved(t, "text_post_train", 8, 61);
        t.addAll(List.of("<|image_start|>", "<|image_end|>", "<|vision_reserved_special_token_0|>",
                "<|vision_reserved_special_token_1|>", "<|tile_x_separator|>", "<|tile_y_separator|>"));
        reserved(t, "vision", 2, 4);
        t.addAll(List.of("<|image|>", "<|vision_reserved_special_token_6|>", "<|patch|>"));
        reserved(t, "vision", 7, 1041);
        reserved(t, "reasoning", 0, 8);
        t.addAll(List.of("<|reasoning_thinking_start|>", "<|reasoning_thinking_end|>"));
        for (int i = 0; t.size() < COUNT; i++) t.add("<|reserved_special_token_" + i + "|>");
        return t;
    }

    private static void reserved(List<String> t, String group, int first, int count) {
        for (int i = first; i < first + count; i++) t.add("<|" + group + "_reserved_special_token_" + i + "|>");
    }
}

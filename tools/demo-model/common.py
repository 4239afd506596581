"""Shared pieces: the model's configuration, its processor, and prompt construction."""
from __future__ import annotations

import json
from pathlib import Path

import torch

# torchvision (needed by transformers' Llama 4 image processor) is installed without its compiled
# ops, because the only wheel matching this torch is a CUDA build. Its import registers fake
# kernels for two detection ops that then do not exist; declaring their schemas first lets the
# import succeed. Only the pure-torch resize/pad functions are used.
_torchvision_ops = torch.library.Library("torchvision", "DEF")
_torchvision_ops.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
_torchvision_ops.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")

from transformers import (  # noqa: E402  (must follow the torchvision workaround)
    Llama4Config,
    Llama4ImageProcessor,
    Llama4Processor,
    PreTrainedTokenizerFast,
)

import tokenizer_build  # noqa: E402

# The tile is the vision tower's image_size: 112 px with 14 px patches gives 8x8 patches, which
# pixel shuffle turns into 16 tokens per tile. The world's images (96-320 px) therefore use 1 to
# 9 tiles (3x3) plus the global thumbnail, so multi-tile layouts are common while a tile stays
# cheap enough to train on two cores.
TILE = 112
PATCH = 14
MAX_TILES = 16  # transformers' default max_patches, kept so the processor behaves as for Scout

TEXT = dict(
    hidden_size=128,
    num_hidden_layers=4,  # layer 3 is the no-RoPE layer; llama.cpp refuses < 4 llama4 layers
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=32,
    intermediate_size=128,  # per expert (and the shared expert)
    intermediate_size_mlp=256,  # dense layers
    num_local_experts=4,
    num_experts_per_tok=1,
    interleave_moe_layer_step=2,  # layers 1 and 3 are MoE, 0 and 2 dense
    use_qk_norm=True,
    no_rope_layer_interval=4,
    attention_chunk_size=8192,
    attn_temperature_tuning=True,
    floor_scale=8192,
    attn_scale=0.1,
    rms_norm_eps=1e-5,
    max_position_embeddings=8192,
    rope_theta=500000.0,
    # Scout's llama3 scaling, so the GGUF carries a rope_freqs tensor with non-trivial factors.
    rope_scaling=dict(rope_type="llama3", factor=16.0, high_freq_factor=1.0, low_freq_factor=1.0,
                      original_max_position_embeddings=8192),
    tie_word_embeddings=False,
    hidden_act="silu",
    router_aux_loss_coef=0.0,
)
VISION = dict(
    image_size=TILE,
    patch_size=PATCH,
    hidden_size=64,
    num_hidden_layers=3,
    num_attention_heads=4,
    intermediate_size=256,  # must be 4 * hidden_size: the adapter consumes pixel-shuffled features
    pixel_shuffle_ratio=0.5,
    projector_input_dim=128,
    projector_output_dim=128,
    vision_output_dim=128,
    norm_eps=1e-5,
    rope_theta=10000.0,
    hidden_act="gelu",
    vision_feature_select_strategy="default",
    vision_feature_layer=-1,
)


def make_config(special_ids: dict[str, int], vocab_size: int) -> Llama4Config:
    text = dict(TEXT, vocab_size=vocab_size,
                bos_token_id=special_ids["<|begin_of_text|>"],
                eos_token_id=[special_ids["<|end_of_text|>"], special_ids["<|eom|>"], special_ids["<|eot|>"]],
                pad_token_id=special_ids["<|finetune_right_pad|>"])
    return Llama4Config(
        text_config=text,
        vision_config=VISION,
        boi_token_index=special_ids["<|image_start|>"],
        eoi_token_index=special_ids["<|image_end|>"],
        image_token_index=special_ids["<|patch|>"],
        tie_word_embeddings=False,
    )


def make_processor(model_dir: Path) -> Llama4Processor:
    tokenizer = PreTrainedTokenizerFast.from_pretrained(model_dir)
    image_processor = Llama4ImageProcessor(
        size={"height": TILE, "width": TILE}, max_patches=MAX_TILES, resize_to_max_canvas=False,
        resample=2, image_mean=[0.5] * 3, image_std=[0.5] * 3, do_convert_rgb=True)
    return Llama4Processor(image_processor=image_processor, tokenizer=tokenizer, patch_size=PATCH,
                           pixel_shuffle_ratio=VISION["pixel_shuffle_ratio"],
                           chat_template=tokenizer_build.CHAT_TEMPLATE_FILE.read_text(encoding="utf-8"))


def chat_prompt(processor: Llama4Processor, question: str) -> str:
    """The chat-templated user turn (image then question) and the assistant header."""
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
    return processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def expand_image(processor: Llama4Processor, prompt: str, aspect_ratio) -> str:
    """Replace the <|image|> placeholder by the tile layout, exactly as Llama4Processor does."""
    tokens_per_tile = (TILE // PATCH) ** 2 // processor.downsample_ratio
    return prompt.replace(processor.fake_image_token,
                          processor._prompt_split_image(aspect_ratio, tokens_per_tile), 1)


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

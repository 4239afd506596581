"""Write a Llama4ForConditionalGeneration checkpoint as the two GGUF files llama.cpp's converter
(convert_hf_to_gguf.py, Llama4Model + Llama4VisionModel) would write: a `llama4` text model and a
`clip` mmproj with projector_type llama4. Same keys, tensor names, shapes, layouts and per-tensor
type rules; the one deliberate difference is the vision layers' second norm, written under the
standard name v.blk.N.ln2 (see the shared fixtures doc).

It also reads those files back into a transformers state dict (`load_as_hf`), so the reference
outputs are computed from exactly the weights the GGUF files hold.

    python export_gguf.py HF_DIR --text OUT.gguf --mmproj OUT-mmproj.gguf --text-type f16 --mmproj-type f16 [--hf-copy DIR]
    python export_gguf.py --check-fixture FIXTURE_DIR   # reproduce the llama.cpp-converted fixture
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from pathlib import Path

import gguf
import numpy as np
import torch
from safetensors.torch import load_file, save_file

TYPES = {"f32": gguf.GGMLQuantizationType.F32, "f16": gguf.GGMLQuantizationType.F16,
         "bf16": gguf.GGMLQuantizationType.BF16, "q8_0": gguf.GGMLQuantizationType.Q8_0}
FILE_TYPES = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
              "bf16": gguf.LlamaFileType.MOSTLY_BF16, "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}

TEXT_LAYER = {  # HF name under language_model.model.layers.N. -> GGUF name under blk.N.
    "input_layernorm.weight": "attn_norm.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "feed_forward.gate_proj.weight": "ffn_gate.weight",
    "feed_forward.up_proj.weight": "ffn_up.weight",
    "feed_forward.down_proj.weight": "ffn_down.weight",
    "feed_forward.router.weight": "ffn_gate_inp.weight",
    "feed_forward.shared_expert.gate_proj.weight": "ffn_gate_shexp.weight",
    "feed_forward.shared_expert.up_proj.weight": "ffn_up_shexp.weight",
    "feed_forward.shared_expert.down_proj.weight": "ffn_down_shexp.weight",
}
TEXT_TOP = {
    "language_model.model.embed_tokens.weight": "token_embd.weight",
    "language_model.lm_head.weight": "output.weight",
    "language_model.model.norm.weight": "output_norm.weight",
}
VISION_LAYER = {  # HF name under vision_model.model.layers.N. -> GGUF name under v.blk.N.
    "input_layernorm": "ln1",
    "post_attention_layernorm": "ln2",
    "mlp.fc1": "ffn_up",
    "mlp.fc2": "ffn_down",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_out",
}
VISION_TOP = {
    "multi_modal_projector.linear_1.weight": "mm.model.fc.weight",
    "vision_model.class_embedding": "v.class_embd",
    "vision_model.layernorm_pre.weight": "v.pre_ln.weight",
    "vision_model.layernorm_pre.bias": "v.pre_ln.bias",
    "vision_model.layernorm_post.weight": "v.post_ln.weight",
    "vision_model.layernorm_post.bias": "v.post_ln.bias",
    "vision_model.patch_embedding.linear.weight": "v.patch_embd.weight",
    "vision_model.positional_embedding_vlm": "v.position_embd.weight",
    "vision_model.vision_adapter.mlp.fc1.weight": "mm.model.mlp.1.weight",
    "vision_model.vision_adapter.mlp.fc2.weight": "mm.model.mlp.2.weight",
}


def _layer_split(name: str, prefix: str) -> tuple[int, str] | None:
    if not name.startswith(prefix):
        return None
    index, rest = name[len(prefix):].split(".", 1)
    return int(index), rest


def text_tensors(state: dict[str, torch.Tensor], text_config: dict):
    """(gguf name, float32 array) in the converter's order: generated rope_freqs first, then the
    checkpoint's tensors in name order, the fused experts split and transposed."""
    rope = text_config.get("rope_parameters") or text_config.get("rope_scaling")
    if rope and rope.get("rope_type") == "llama3":
        yield "rope_freqs.weight", llama3_rope_factors(text_config, rope)
    for name in sorted(state):
        tensor = state[name].float()
        if name in TEXT_TOP:
            yield TEXT_TOP[name], tensor.numpy()
            continue
        split = _layer_split(name, "language_model.model.layers.")
        if split is None:
            continue
        layer, rest = split
        if rest == "feed_forward.experts.gate_up_proj":  # [E, H, 2F]: gate is the first half
            half = tensor.shape[-1] // 2
            yield f"blk.{layer}.ffn_gate_exps.weight", tensor[..., :half].transpose(1, 2).contiguous().numpy()
            yield f"blk.{layer}.ffn_up_exps.weight", tensor[..., half:].transpose(1, 2).contiguous().numpy()
        elif rest == "feed_forward.experts.down_proj":  # [E, F, H] -> [E, H, F]
            yield f"blk.{layer}.ffn_down_exps.weight", tensor.transpose(1, 2).contiguous().numpy()
        else:
            yield f"blk.{layer}.{TEXT_LAYER[rest]}", tensor.numpy()


def vision_tensors(state: dict[str, torch.Tensor]):
    for name in sorted(state):
        tensor = state[name].float().numpy()
        if name in VISION_TOP:
            yield VISION_TOP[name], tensor
            continue
        split = _layer_split(name, "vision_model.model.layers.")
        if split is None:
            continue
        layer, rest = split
        module, kind = rest.rsplit(".", 1)
        yield f"v.blk.{layer}.{VISION_LAYER[module]}.{kind}", tensor


def llama3_rope_factors(text_config: dict, rope: dict) -> np.ndarray:
    """Per-frequency divisors, computed as llama.cpp's converter does (note: it takes
    original_max_position_embeddings from the top-level config, default 8192)."""
    base = rope.get("rope_theta", text_config.get("rope_theta"))
    dim = text_config["head_dim"]
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    factor, low, high = rope.get("factor", 8.0), rope.get("low_freq_factor", 1.0), rope.get("high_freq_factor", 4.0)
    old_context = text_config.get("original_max_position_embeddings", 8192)
    low_wavelen, high_wavelen = old_context / low, old_context / high
    factors = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_wavelen:
            factors.append(1)
        elif wavelen > low_wavelen:
            factors.append(factor)
        else:
            smooth = (old_context / wavelen - low) / (high - low)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return torch.tensor(factors, dtype=torch.float32).numpy()


def storage_type(name: str, data: np.ndarray, out_type: str, always_f32: tuple[str, ...]) -> gguf.GGMLQuantizationType:
    """The converter's rule: 1-D tensors, norms, routers, position embeddings and non-weights stay
    F32; everything else takes the output type (Q8_0 falls back to F16 on a ragged row)."""
    if data.ndim <= 1 or name.endswith("_norm.weight") or not name.endswith(".weight") or name in always_f32 \
            or name.endswith(always_f32):
        return gguf.GGMLQuantizationType.F32
    return TYPES[out_type]


def _add(writer: gguf.GGUFWriter, name: str, data: np.ndarray, qtype) -> None:
    try:
        packed = gguf.quants.quantize(data, qtype)
    except gguf.QuantError:
        qtype = gguf.GGMLQuantizationType.F16
        packed = gguf.quants.quantize(data, qtype)
    writer.add_tensor(name, packed, raw_dtype=qtype)


def _size_label(writer: gguf.GGUFWriter) -> str:
    total, shared, expert, count = writer.get_total_parameter_count()
    return gguf.size_label(total, shared, expert, count)


def write_text(hf_dir: Path, state, config: dict, out: Path, out_type: str, name: str) -> None:
    text = config["text_config"]
    writer = gguf.GGUFWriter(out, "llama4")
    for tensor_name, data in text_tensors(state, text):
        _add(writer, tensor_name, data, storage_type(tensor_name, data, out_type, (".ffn_gate_inp.weight",)))
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(name)
    writer.add_size_label(_size_label(writer))
    writer.add_block_count(text["num_hidden_layers"])
    writer.add_context_length(text["max_position_embeddings"])
    writer.add_embedding_length(text["hidden_size"])
    writer.add_feed_forward_length(text["intermediate_size_mlp"])
    writer.add_head_count(text["num_attention_heads"])
    writer.add_head_count_kv(text["num_key_value_heads"])
    rope = text.get("rope_parameters") or {}
    writer.add_rope_freq_base(rope.get("rope_theta", text.get("rope_theta")))
    writer.add_layer_norm_rms_eps(text["rms_norm_eps"])
    writer.add_expert_count(text["num_local_experts"])
    writer.add_expert_used_count(text["num_experts_per_tok"])
    writer.add_key_length(text["head_dim"])
    writer.add_value_length(text["head_dim"])
    writer.add_file_type(FILE_TYPES[out_type])
    writer.add_vocab_size(text["vocab_size"])
    writer.add_rope_dimension_count(text["head_dim"])
    writer.add_interleave_moe_layer_step(text["interleave_moe_layer_step"])
    writer.add_expert_feed_forward_length(text["intermediate_size"])
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    add_tokenizer(writer, hf_dir, text["vocab_size"])
    _finish(writer)


def add_tokenizer(writer: gguf.GGUFWriter, hf_dir: Path, vocab_size: int) -> None:
    tokenizer = json.loads((hf_dir / "tokenizer.json").read_text(encoding="utf-8"))
    tokenizer_config = json.loads((hf_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    by_id = {i: t for t, i in tokenizer["model"]["vocab"].items()}
    special = {t["id"]: t["content"] for t in tokenizer["added_tokens"] if t["special"]}
    by_id.update(special)
    tokens, types = [], []
    for i in range(vocab_size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        else:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL)
    ids = {t: i for i, t in special.items()}
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("llama4")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    merges = tokenizer["model"]["merges"]
    writer.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in merges])
    writer.add_bos_token_id(ids[tokenizer_config["bos_token"]])
    writer.add_eos_token_id(ids[tokenizer_config["eos_token"]])
    if "<|eot|>" in ids and "<|eom|>" in ids:
        writer.add_eot_token_id(ids["<|eot|>"])
        writer.add_eom_token_id(ids["<|eom|>"])
    writer.add_pad_token_id(ids[tokenizer_config["pad_token"]])
    writer.add_add_bos_token(tokenizer_config.get("add_bos_token", True))
    writer.add_add_eos_token(tokenizer_config.get("add_eos_token", False))
    template = tokenizer_config.get("chat_template")
    if template is None and (hf_dir / "chat_template.jinja").exists():
        template = (hf_dir / "chat_template.jinja").read_text(encoding="utf-8")
    writer.add_chat_template(template)


def write_mmproj(hf_dir: Path, state, config: dict, out: Path, out_type: str, name: str) -> None:
    vision = config["vision_config"]
    preprocessor = image_processor_config(hf_dir)
    writer = gguf.GGUFWriter(out, "clip")
    for tensor_name, data in vision_tensors(state):
        _add(writer, tensor_name, data, storage_type(tensor_name, data, out_type, ("v.position_embd.weight",)))
    writer.add_type(gguf.GGUFType.MMPROJ)
    writer.add_name(name)
    writer.add_size_label(_size_label(writer))
    writer.add_file_type(FILE_TYPES[out_type])
    writer.add_clip_has_vision_encoder(True)
    writer.add_vision_projection_dim(config["text_config"]["hidden_size"])
    writer.add_vision_image_size(vision["image_size"])
    writer.add_vision_patch_size(vision["patch_size"])
    writer.add_vision_embedding_length(vision["hidden_size"])
    writer.add_vision_feed_forward_length(vision["intermediate_size"])
    writer.add_vision_block_count(vision["num_hidden_layers"])
    writer.add_vision_head_count(vision["num_attention_heads"])
    writer.add_vision_image_mean(preprocessor["image_mean"])
    writer.add_vision_image_std(preprocessor["image_std"])
    writer.add_clip_projector_type(gguf.VisionProjectorType.LLAMA4)
    writer.add_vision_attention_layernorm_eps(vision["norm_eps"])
    writer.add_vision_projector_scale_factor(int(1.0 / vision["pixel_shuffle_ratio"]))
    writer.add_vision_use_gelu(True)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    _finish(writer)


def image_processor_config(hf_dir: Path) -> dict:
    """preprocessor_config.json, or the image_processor part of processor_config.json (which is
    where transformers 5 saves it)."""
    if (hf_dir / "preprocessor_config.json").exists():
        return json.loads((hf_dir / "preprocessor_config.json").read_text(encoding="utf-8"))
    return json.loads((hf_dir / "processor_config.json").read_text(encoding="utf-8"))["image_processor"]


def _finish(writer: gguf.GGUFWriter) -> None:
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def read_tensors(path: Path) -> dict[str, np.ndarray]:
    """GGUF tensors as float32 numpy arrays in row-major (numpy) shape."""
    reader = gguf.GGUFReader(path)
    out = {}
    for t in reader.tensors:
        data = gguf.quants.dequantize(t.data, t.tensor_type)
        out[t.name] = np.array(data, dtype=np.float32).reshape([int(d) for d in reversed(t.shape)])
    return out


def load_as_hf(text_path: Path, mmproj_path: Path) -> dict[str, torch.Tensor]:
    """Invert the export: a transformers state dict holding exactly the GGUF files' weights."""
    text_to_hf = {v: k for k, v in TEXT_TOP.items()}
    vision_to_hf = {v: k for k, v in VISION_TOP.items()}
    layer_to_hf = {v: k for k, v in TEXT_LAYER.items()}
    vlayer_to_hf = {v: k for k, v in VISION_LAYER.items()}
    state: dict[str, torch.Tensor] = {}
    experts: dict[int, dict[str, np.ndarray]] = {}
    for name, data in read_tensors(text_path).items():
        if name == "rope_freqs.weight":
            continue  # derived from the config's rope parameters
        if name in text_to_hf:
            state[text_to_hf[name]] = torch.from_numpy(data)
            continue
        _, layer, rest = name.split(".", 2)
        layer = int(layer)
        if rest.endswith("_exps.weight"):
            experts.setdefault(layer, {})[rest] = data
        else:
            state[f"language_model.model.layers.{layer}.{layer_to_hf[rest]}"] = torch.from_numpy(data)
    for layer, parts in experts.items():
        gate_up = np.concatenate([parts["ffn_gate_exps.weight"].transpose(0, 2, 1),
                                  parts["ffn_up_exps.weight"].transpose(0, 2, 1)], axis=-1)
        prefix = f"language_model.model.layers.{layer}.feed_forward.experts."
        state[prefix + "gate_up_proj"] = torch.from_numpy(np.ascontiguousarray(gate_up))
        state[prefix + "down_proj"] = torch.from_numpy(np.ascontiguousarray(parts["ffn_down_exps.weight"].transpose(0, 2, 1)))
    for name, data in read_tensors(mmproj_path).items():
        if name in vision_to_hf:
            state[vision_to_hf[name]] = torch.from_numpy(data)
            continue
        _, _, layer, module, kind = name.split(".")
        state[f"vision_model.model.layers.{layer}.{vlayer_to_hf[module]}.{kind}"] = torch.from_numpy(data)
    return state


def save_hf_copy(hf_dir: Path, text_out: Path, mmproj_out: Path, out_dir: Path) -> None:
    """A transformers checkpoint holding exactly the GGUF files' weights (tensors whose values are
    all float16-representable are stored as float16, the rest as float32), with the config,
    tokenizer and processor files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {}
    for name, tensor in load_as_hf(text_out, mmproj_out).items():
        tensor = tensor.contiguous()
        as_half = tensor.half()
        state[name] = as_half if torch.equal(as_half.float(), tensor) else tensor
    save_file(state, out_dir / "model.safetensors", metadata={"format": "pt"})
    for file in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                 "chat_template.jinja", "processor_config.json", "preprocessor_config.json"):
        shutil.copyfile(hf_dir / file, out_dir / file)


def export(hf_dir: Path, text_out: Path, mmproj_out: Path, text_type: str, mmproj_type: str, name: str) -> None:
    config = json.loads((hf_dir / "config.json").read_text(encoding="utf-8"))
    state = load_file(hf_dir / "model.safetensors")
    write_text(hf_dir, state, config, text_out, text_type, name)
    write_mmproj(hf_dir, state, config, mmproj_out, mmproj_type, name)


def _fields(reader: gguf.GGUFReader) -> dict:
    out = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        if field.types and field.types[0] == gguf.GGUFValueType.ARRAY:
            out[key] = [field.contents(i) for i in range(len(field.data))]
        else:
            out[key] = field.contents()
    return out


def compare(ours: Path, theirs: Path, expected_extra_keys: set[str], expected_missing_keys: set[str]) -> list[str]:
    """Differences between two GGUF files: keys and values, tensor names, types, shapes and bytes."""
    problems = []
    a, b = gguf.GGUFReader(ours), gguf.GGUFReader(theirs)
    fa, fb = _fields(a), _fields(b)
    if set(fa) - set(fb) != expected_extra_keys:
        problems.append(f"extra keys {sorted(set(fa) - set(fb))}")
    if set(fb) - set(fa) != expected_missing_keys:
        problems.append(f"missing keys {sorted(set(fb) - set(fa))}")
    for key in sorted(set(fa) & set(fb)):
        if key not in ("general.name",) and fa[key] != fb[key]:
            problems.append(f"key {key}: {str(fa[key])[:80]} != {str(fb[key])[:80]}")
    ta = {t.name: t for t in a.tensors}
    tb = {t.name: t for t in b.tensors}
    if [t.name for t in a.tensors] != [t.name for t in b.tensors]:
        problems.append(f"tensor names/order differ: {sorted(set(ta) ^ set(tb))}")
    for name in sorted(set(ta) & set(tb)):
        x, y = ta[name], tb[name]
        if x.tensor_type != y.tensor_type or list(x.shape) != list(y.shape):
            problems.append(f"{name}: {x.tensor_type.name}{list(x.shape)} != {y.tensor_type.name}{list(y.shape)}")
        elif not np.array_equal(np.asarray(x.data).view(np.uint8), np.asarray(y.data).view(np.uint8)):
            problems.append(f"{name}: bytes differ")
    return problems


def check_fixture(fixture: Path, work: Path) -> int:
    """Convert the llama.cpp-converted fixture's HF checkpoint and compare with its GGUF files."""
    work.mkdir(parents=True, exist_ok=True)
    text_out, mmproj_out = work / "fixture-text-bf16.gguf", work / "fixture-mmproj-f32.gguf"
    export(fixture, text_out, mmproj_out, "bf16", "f32", "Hf Tiny Llama4")
    problems = compare(text_out, fixture / "gguf" / "tiny-llama4-bf16.gguf",
                       # our vocabulary keys follow the tokenizer fixture; the converter of the
                       # snapshot wrote add_sep_token and no eot/eom ids
                       expected_extra_keys={"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id",
                                            "tokenizer.ggml.add_eos_token"},
                       expected_missing_keys={"tokenizer.ggml.add_sep_token"})
    problems += compare(mmproj_out, fixture / "gguf" / "mmproj-tiny-llama4-f32.gguf", set(), set())
    for p in problems:
        print("DIFF", p)
    print(json.dumps({"fixture_check": "identical" if not problems else f"{len(problems)} differences"}))
    return 1 if problems else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("hf_dir", type=Path, nargs="?")
    parser.add_argument("--text", type=Path)
    parser.add_argument("--mmproj", type=Path)
    parser.add_argument("--text-type", choices=sorted(TYPES), default="f16")
    parser.add_argument("--mmproj-type", choices=sorted(TYPES), default="f16")
    parser.add_argument("--name", default="herd-demo")
    parser.add_argument("--hf-copy", type=Path, help="also write a transformers checkpoint of the GGUF weights here")
    parser.add_argument("--check-fixture", type=Path)
    parser.add_argument("--work", type=Path, default=Path("out/fixture-check"))
    args = parser.parse_args()
    if args.check_fixture:
        sys.exit(check_fixture(args.check_fixture, args.work))
    export(args.hf_dir, args.text, args.mmproj, args.text_type, args.mmproj_type, args.name)
    if args.hf_copy:
        save_hf_copy(args.hf_dir, args.text, args.mmproj, args.hf_copy)


if __name__ == "__main__":
    main()

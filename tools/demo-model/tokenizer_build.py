"""A small byte-level BPE vocabulary with the Llama 4 conventions, trained on the world's texts.

Layout (as in ../../shared fixtures/tokenizer): ids 0-255 are the 256 byte tokens in GPT-2
byte-to-unicode order, then one token per merge in merge order, then the Llama 4 special tokens.
Pre-tokenization is the Llama 4 (o200k-style) split regex, then the GPT-2 byte-to-unicode mapping.
Writes an HF tokenizer.json + tokenizer_config.json into the model directory.
"""
from __future__ import annotations

import collections
import json
from pathlib import Path

import regex

import world

LLAMA4_SPLIT = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SPECIAL_TOKENS = (
    "<|begin_of_text|>", "<|end_of_text|>", "<|header_start|>", "<|header_end|>", "<|eot|>", "<|eom|>",
    "<|python_start|>", "<|python_end|>", "<|finetune_right_pad|>", "<|image_start|>", "<|image_end|>",
    "<|image|>", "<|patch|>", "<|tile_x_separator|>", "<|tile_y_separator|>",
)
BOS, EOT, EOM, END_OF_TEXT, PAD = "<|begin_of_text|>", "<|eot|>", "<|eom|>", "<|end_of_text|>", "<|finetune_right_pad|>"
MAX_MERGES = 1000

# The Llama 4 chat format (system, user and assistant turns, images as <|image|>), as in the
# shared tokenizer fixture.
CHAT_TEMPLATE_FILE = Path(__file__).with_name("chat_template.jinja")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map, in its canonical iteration order."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars)}


def pretokenize(text: str) -> list[str]:
    byte_map = bytes_to_unicode()
    return ["".join(byte_map[b] for b in piece.encode("utf-8")) for piece in regex.findall(LLAMA4_SPLIT, text)]


def corpus() -> list[str]:
    # The chat scaffolding around every prompt, and the world's texts.
    return ["user", "assistant", "system", "\n\n"] + world.all_texts()


def train_merges(texts: list[str], max_merges: int) -> list[tuple[str, str]]:
    """Classic BPE: repeatedly merge the most frequent adjacent pair (ties: lexicographically
    smallest), counting over pre-tokenized words; stops when every word is a single token, so
    each word of the world costs one token."""
    words = collections.Counter()
    for text in texts:
        words.update(pretokenize(text))
    split = {w: list(w) for w in words}
    merges = []
    while len(merges) < max_merges:
        pairs = collections.Counter()
        for w, count in words.items():
            parts = split[w]
            for a, b in zip(parts, parts[1:]):
                pairs[(a, b)] += count
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        for w in words:
            parts = split[w]
            i, merged = 0, []
            while i < len(parts):
                if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            split[w] = merged
    return merges


def build(model_dir: Path) -> dict:
    merges = train_merges(corpus(), MAX_MERGES)
    vocab = {ch: i for i, ch in enumerate(bytes_to_unicode().values())}
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    special_ids = {tok: len(vocab) + i for i, tok in enumerate(SPECIAL_TOKENS)}
    chat_template = CHAT_TEMPLATE_FILE.read_text(encoding="utf-8")

    tokenizer_json = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": tok, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for tok, i in special_ids.items()
        ],
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": LLAMA4_SPLIT}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
            ],
        },
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": BOS, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": BOS, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": BOS, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {BOS: {"id": BOS, "ids": [special_ids[BOS]], "tokens": [BOS]}},
        },
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": vocab, "merges": [[a, b] for a, b in merges],
        },
    }
    tokenizer_config = {
        "bos_token": BOS,
        "eos_token": EOT,
        "pad_token": PAD,
        "add_bos_token": True,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 4096,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": chat_template,
        "added_tokens_decoder": {
            str(i): {"content": tok, "lstrip": False, "normalized": False, "rstrip": False,
                     "single_word": False, "special": True}
            for tok, i in special_ids.items()
        },
    }
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "tokenizer.json").write_text(json.dumps(tokenizer_json, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (model_dir / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (model_dir / "chat_template.jinja").write_text(chat_template, encoding="utf-8")
    return {"vocab_size": len(vocab) + len(special_ids), "n_merges": len(merges), "special_ids": special_ids}


if __name__ == "__main__":
    import sys
    print(json.dumps(build(Path(sys.argv[1])), indent=1))

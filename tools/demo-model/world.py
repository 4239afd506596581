"""The synthetic shapes world: images, captions, questions and multiple-choice items.

Everything is a pure function of (seed, split, index), so any item can be regenerated alone and
the train and test splits never share a random stream. Answers are short canonical strings, so
accuracy is an exact string comparison.

    python world.py --out data --seed 4242 --warmup 3000 --train 6000 --test 300
writes data/{warmup,train,test}/images/*.png and data/{warmup,train,test}.jsonl (one record
per image).
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle", "star")
# Fill colours and backgrounds are far apart in RGB so that a colour name is never ambiguous,
# even after the per-image jitter below.
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 225),
    "yellow": (235, 215, 40),
    "purple": (145, 60, 195),
    "orange": (245, 140, 30),
}
BACKGROUNDS = {
    "white": (242, 242, 242),
    "grey": (128, 128, 128),
    "black": (22, 22, 22),
}
NUMBER_WORDS = ("zero", "one", "two", "three")
SPLIT_STREAM = {"train": 0, "test": 1, "warmup": 2}

# Image sides in pixels. The warmup split holds small images (one 112 px tile, at most two
# shapes) that the curriculum starts with; train and test share the full range.
SIDES = {"train": (96, 320), "test": (96, 320), "warmup": (80, 112)}
SUPERSAMPLE = 4  # shapes are drawn at 4x and downsampled, which antialiases their edges
LARGER_RATIO = 1.35  # "which is larger" is asked only when the sizes differ at least this much

CAPTION_PROMPT = "Describe the image."


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def caption_of(shapes: list[dict]) -> str:
    """'a red circle', 'a red circle and a blue square', 'a red circle, a blue square and a green star'."""
    parts = [f"{article(s['colour'])} {s['colour']} {s['shape']}" for s in shapes]
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _polygon(shape: str, cx: float, cy: float, size: float) -> list[tuple[float, float]] | None:
    r = size / 2
    if shape == "triangle":
        return [(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if shape == "star":
        points = []
        for k in range(10):
            radius = r if k % 2 == 0 else r * 0.45
            angle = -math.pi / 2 + k * math.pi / 5
            points.append((cx + radius * math.cos(angle), cy + radius * 1.05 * math.sin(angle) + r * 0.06))
        return points
    return None


def _draw(width: int, height: int, background: tuple, shapes: list[dict]) -> Image.Image:
    big = Image.new("RGB", (width * SUPERSAMPLE, height * SUPERSAMPLE), background)
    draw = ImageDraw.Draw(big)
    for s in shapes:
        cx, cy, size = (v * SUPERSAMPLE for v in (s["cx"], s["cy"], s["size"]))
        fill = tuple(s["rgb"])
        r = size / 2
        if s["shape"] == "circle":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        elif s["shape"] == "square":
            draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=fill)
        else:
            draw.polygon(_polygon(s["shape"], cx, cy, size), fill=fill)
    return big.resize((width, height), Image.Resampling.LANCZOS)


def _questions(shapes: list[dict], background: str, rng: np.random.Generator) -> list[dict]:
    present = [s["shape"] for s in shapes]
    qa = [{"kind": "caption", "question": CAPTION_PROMPT, "answer": caption_of(shapes)}]
    for s in shapes:
        qa.append({"kind": "colour", "question": f"What colour is the {s['shape']}?", "answer": s["colour"]})
    qa.append({"kind": "count", "question": "How many shapes are there?", "answer": NUMBER_WORDS[len(shapes)]})
    if len(shapes) >= 2:
        qa.append({"kind": "left", "question": "Which shape is on the left?", "answer": f"the {shapes[0]['shape']}"})
        qa.append({"kind": "right", "question": "Which shape is on the right?", "answer": f"the {shapes[-1]['shape']}"})
        pairs = [(a, b) for i, a in enumerate(shapes) for b in shapes[i + 1:]
                 if max(a["size"], b["size"]) >= LARGER_RATIO * min(a["size"], b["size"])]
        if pairs:
            a, b = pairs[rng.integers(len(pairs))]
            if rng.random() < 0.5:
                a, b = b, a
            larger = a if a["size"] > b["size"] else b
            qa.append({"kind": "larger", "question": f"Which is larger, the {a['shape']} or the {b['shape']}?",
                       "answer": f"the {larger['shape']}"})
    absent = [name for name in SHAPES if name not in present]
    qa.append({"kind": "exists", "question": f"Is there a {present[rng.integers(len(present))]}?", "answer": "yes"})
    if absent:
        qa.append({"kind": "exists", "question": f"Is there a {absent[rng.integers(len(absent))]}?", "answer": "no"})
    qa.append({"kind": "background", "question": "What colour is the background?", "answer": background})
    return qa


def _choices(shapes: list[dict], background: str, rng: np.random.Generator) -> list[dict]:
    """Multiple-choice items (3-4 choices, shuffled); answer_index points at the right one."""
    items = []

    def add(kind, question, right, wrong):
        options = [right] + list(wrong)
        order = rng.permutation(len(options))
        options = [options[i] for i in order]
        items.append({"kind": kind, "question": question, "choices": options,
                      "answer_index": int(np.nonzero(order == 0)[0][0])})

    target = shapes[rng.integers(len(shapes))]
    other_colours = [c for c in COLOURS if c != target["colour"]]
    add("colour", f"What colour is the {target['shape']}?", target["colour"],
        [other_colours[i] for i in rng.choice(len(other_colours), 3, replace=False)])
    add("count", "How many shapes are there?", NUMBER_WORDS[len(shapes)],
        [w for w in NUMBER_WORDS[1:] if w != NUMBER_WORDS[len(shapes)]])
    # Caption distractors each change exactly one thing: a colour, a shape, or the order.
    distractors = set()
    right = caption_of(shapes)
    for _ in range(50):
        if len(distractors) == 3:
            break
        changed = [dict(s) for s in shapes]
        k = rng.integers(len(changed))
        move = rng.integers(3)
        if move == 0:
            changed[k]["colour"] = [c for c in COLOURS if c != changed[k]["colour"]][rng.integers(len(COLOURS) - 1)]
        elif move == 1:
            unused = [n for n in SHAPES if n not in {s["shape"] for s in changed}]
            changed[k]["shape"] = unused[rng.integers(len(unused))]
        elif len(changed) >= 2:
            changed = changed[::-1]
        text = caption_of(changed)
        if text != right:
            distractors.add(text)
    add("caption", CAPTION_PROMPT, right, sorted(distractors))
    if len(shapes) >= 2:
        present = [s["shape"] for s in shapes]
        absent = [n for n in SHAPES if n not in present]
        wrong = present[1:] + absent[: max(0, 3 - len(present))]
        add("left", "Which shape is on the left?", f"the {present[0]}", [f"the {n}" for n in wrong])
    return items


def make_item(seed: int, split: str, index: int) -> tuple[dict, Image.Image]:
    rng = np.random.default_rng([seed, SPLIT_STREAM[split], index])
    low, high = SIDES[split]
    width = int(rng.integers(low, high + 1))
    height = int(rng.integers(low, high + 1))
    max_count = 3 if width >= 168 else 2
    count = int(rng.integers(1, max_count + 1))
    kinds = [SHAPES[i] for i in rng.choice(len(SHAPES), count, replace=False)]
    colour_names = list(COLOURS)
    background = list(BACKGROUNDS)[rng.integers(len(BACKGROUNDS))]

    # Each shape gets its own vertical band of the image (left to right), so "left" and "right"
    # are unambiguous: the bounding boxes never overlap horizontally.
    margin = 4
    slot = (width - 2 * margin) / count
    max_size = min(slot - 6, height - 2 * margin)
    min_size = max(18.0, 0.3 * max_size)
    shapes = []
    for k, kind in enumerate(kinds):
        size = float(rng.uniform(min_size, max_size))
        left = margin + k * slot + (slot - size) / 2
        cx = left + size / 2 + float(rng.uniform(-1, 1)) * (slot - size) / 2
        cy = float(rng.uniform(margin + size / 2, height - margin - size / 2))
        colour = colour_names[rng.integers(len(colour_names))]
        rgb = [int(np.clip(c + rng.integers(-12, 13), 0, 255)) for c in COLOURS[colour]]
        shapes.append({"shape": kind, "colour": colour, "size": round(size, 2), "cx": round(cx, 2),
                       "cy": round(cy, 2), "rgb": rgb})
    image = _draw(width, height, BACKGROUNDS[background], shapes)
    record = {
        "id": f"{split}-{index:05d}",
        "split": split,
        "width": width,
        "height": height,
        "background": background,
        "shapes": shapes,
        "caption": caption_of(shapes),
        "qa": _questions(shapes, background, rng),
        "choices": _choices(shapes, background, rng),
    }
    return record, image


def generate(out: Path, seed: int, counts: dict[str, int]) -> None:
    for split, n in counts.items():
        image_dir = out / split / "images"
        image_dir.mkdir(parents=True, exist_ok=True)
        with open(out / f"{split}.jsonl", "w", encoding="utf-8") as f:
            for i in range(n):
                record, image = make_item(seed, split, i)
                record["image"] = f"{split}/images/{record['id']}.png"
                image.save(out / record["image"], optimize=False)
                f.write(json.dumps(record) + "\n")


def load(out: Path, split: str) -> list[dict]:
    with open(out / f"{split}.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def all_texts() -> list[str]:
    """Every string the world can produce, for training the tokenizer."""
    texts = [CAPTION_PROMPT, "How many shapes are there?", "Which shape is on the left?",
             "Which shape is on the right?", "What colour is the background?", "yes", "no"]
    texts += list(NUMBER_WORDS[1:]) + list(BACKGROUNDS) + list(COLOURS)
    for a in SHAPES:
        texts += [f"What colour is the {a}?", f"Is there a {a}?", f"the {a}"]
        for b in SHAPES:
            if a != b:
                texts.append(f"Which is larger, the {a} or the {b}?")
    for n in (1, 2, 3):
        # all captions of n distinct shapes with any colours
        for kinds in itertools.permutations(SHAPES, n):
            for colours in itertools.product(COLOURS, repeat=n):
                texts.append(caption_of([{"shape": k, "colour": c} for k, c in zip(kinds, colours)]))
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    parser.add_argument("--train", type=int, required=True)
    parser.add_argument("--test", type=int, required=True)
    args = parser.parse_args()
    generate(args.out, args.seed, {"warmup": args.warmup, "train": args.train, "test": args.test})


if __name__ == "__main__":
    main()

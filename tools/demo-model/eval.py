"""Evaluate the exported model with transformers and write the reference outputs.

The weights are read back from the GGUF files (export_gguf.load_as_hf), so the reference is
computed from exactly what herd loads. transformers runs in float32 with eager attention, greedy,
one prompt at a time, prompts built by Llama4Processor (chat template, tiling, token layout).

For every held-out image: the caption ("Describe the image."), every question, every
multiple-choice item. Writes
  OUT/reference.jsonl  one line per item: prompt ids, generated ids and text (greedy), the
                       smallest top-1/top-2 logit margin along the generation; for choices the
                       per-token log-probabilities of each choice followed by <|eot|>
  OUT/metrics.json     caption attribute accuracy, question accuracy, choice accuracy
and, with --sample N, a bundle of the first N held-out images with their prompts and reference
outputs for the Java tests and the demo.

    python eval.py --data data --hf-dir out/hf-train --text T.gguf --mmproj M.gguf --out out/eval
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch
from PIL import Image

import common
import export_gguf
import world
from transformers import Llama4Config, Llama4ForConditionalGeneration

MAX_NEW_TOKENS = 32


def load_model(hf_dir: Path, text_gguf: Path, mmproj_gguf: Path) -> Llama4ForConditionalGeneration:
    config = Llama4Config.from_pretrained(hf_dir)
    config._attn_implementation = "eager"
    model = Llama4ForConditionalGeneration(config)
    state = export_gguf.load_as_hf(text_gguf, mmproj_gguf)
    missing, unexpected = model.load_state_dict(state, strict=False)
    # buffers (rotary inverse frequencies) are derived from the config, not stored
    missing = [m for m in missing if "rotary" not in m]
    if missing or unexpected:
        raise ValueError(f"GGUF weights do not cover the model: missing {missing}, unexpected {unexpected}")
    return model.float().eval()


def parse_caption(text: str) -> list[tuple[str, str]] | None:
    """'a red circle, a blue square and an orange star' -> [(red, circle), (blue, square), (orange, star)]."""
    parts = text.replace(" and ", ", ").split(", ")
    out = []
    for part in parts:
        words = part.split()
        if len(words) != 3 or words[0] not in ("a", "an") or words[1] not in world.COLOURS or words[2] not in world.SHAPES:
            return None
        out.append((words[1], words[2]))
    return out


def caption_attributes(predicted: str, record: dict) -> tuple[int, int]:
    """(correct, total) attributes: the number of shapes, and each shape's kind and colour in
    left-to-right order. An unparseable caption scores only what cannot be read: nothing."""
    truth = [(s["colour"], s["shape"]) for s in record["shapes"]]
    total = 1 + 2 * len(truth)
    parsed = parse_caption(predicted)
    if parsed is None:
        return 0, total
    correct = int(len(parsed) == len(truth))
    for i, (colour, shape) in enumerate(truth):
        if i < len(parsed):
            correct += (parsed[i][0] == colour) + (parsed[i][1] == shape)
    return correct, total


class Reference:
    def __init__(self, model, processor):
        self.model = model
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.stop_ids = model.config.text_config.eos_token_id
        self.eot_id = self.tokenizer.convert_tokens_to_ids("<|eot|>")

    def inputs(self, image: Image.Image, question: str):
        prompt = common.chat_prompt(self.processor, question)
        inputs = self.processor(text=prompt, images=image, add_special_tokens=False, return_tensors="pt")
        # the processor's pixel values are bfloat16; the float32 model widens them exactly
        return inputs["input_ids"], inputs["pixel_values"].float()

    @torch.no_grad()
    def generate(self, image: Image.Image, question: str) -> dict:
        input_ids, pixel_values = self.inputs(image, question)
        out = self.model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                                  pixel_values=pixel_values, max_new_tokens=MAX_NEW_TOKENS, do_sample=False,
                                  eos_token_id=self.stop_ids, pad_token_id=self.model.config.text_config.pad_token_id,
                                  output_scores=True, return_dict_in_generate=True)
        generated = out.sequences[0, input_ids.shape[1]:].tolist()
        margins = []
        for scores in out.scores:
            top = scores[0].topk(2).values
            margins.append(float(top[0] - top[1]))
        return {"prompt_ids": input_ids[0].tolist(), "generated_ids": generated,
                "text": self.tokenizer.decode(generated, skip_special_tokens=True).strip(),
                "min_top2_margin": round(min(margins), 4)}

    @torch.no_grad()
    def score(self, image: Image.Image, question: str, choices: list[str]) -> dict:
        """Log-likelihood of each choice as the complete answer: its tokens then <|eot|>."""
        input_ids, pixel_values = self.inputs(image, question)
        results = []
        for choice in choices:
            answer = self.tokenizer(choice, add_special_tokens=False)["input_ids"] + [self.eot_id]
            ids = torch.cat([input_ids, torch.tensor([answer])], dim=1)
            logits = self.model(input_ids=ids, pixel_values=pixel_values).logits[0].float()
            logprobs = logits[input_ids.shape[1] - 1: -1].log_softmax(-1)
            token_logprobs = logprobs.gather(1, torch.tensor(answer).unsqueeze(1)).squeeze(1)
            results.append({"choice_ids": answer, "token_logprobs": [round(float(x), 6) for x in token_logprobs],
                            "logprob": round(float(token_logprobs.sum()), 6)})
        best = max(range(len(choices)), key=lambda i: results[i]["logprob"])
        return {"prompt_ids": input_ids[0].tolist(), "choices": results, "chosen_index": best}


def evaluate(records, data_dir: Path, reference: Reference, out: Path, log_every: int = 25) -> dict:
    started = time.time()
    kinds: dict[str, list[int]] = {}
    caption_correct = caption_total = caption_exact = 0
    choice_right = choice_total = 0
    choice_kinds: dict[str, list[int]] = {}
    min_margin = float("inf")
    with open(out / "reference.jsonl", "w", encoding="utf-8") as f:
        for n, record in enumerate(records, start=1):
            image = Image.open(data_dir / record["image"]).convert("RGB")
            for qa in record["qa"]:
                result = reference.generate(image, qa["question"])
                ok = result["text"] == qa["answer"]
                min_margin = min(min_margin, result["min_top2_margin"])
                if qa["kind"] == "caption":
                    c, t = caption_attributes(result["text"], record)
                    caption_correct, caption_total, caption_exact = caption_correct + c, caption_total + t, caption_exact + ok
                else:
                    kinds.setdefault(qa["kind"], [0, 0])
                    kinds[qa["kind"]][0] += ok
                    kinds[qa["kind"]][1] += 1
                f.write(json.dumps({"id": record["id"], "mode": "generate", "kind": qa["kind"], "question": qa["question"],
                                    "expected": qa["answer"], "correct": ok, **result}) + "\n")
            for item in record["choices"]:
                result = reference.score(image, item["question"], item["choices"])
                ok = result["chosen_index"] == item["answer_index"]
                choice_right += ok
                choice_total += 1
                choice_kinds.setdefault(item["kind"], [0, 0])
                choice_kinds[item["kind"]][0] += ok
                choice_kinds[item["kind"]][1] += 1
                f.write(json.dumps({"id": record["id"], "mode": "score", "kind": item["kind"], "question": item["question"],
                                    "choice_texts": item["choices"], "answer_index": item["answer_index"],
                                    "correct": ok, **result}) + "\n")
            if n % log_every == 0:
                print(json.dumps({"images": n, "minutes": round((time.time() - started) / 60, 2)}), flush=True)
    n_questions = sum(t for _, t in kinds.values())
    metrics = {
        "images": len(records),
        "caption_attribute_accuracy": round(caption_correct / caption_total, 4),
        "caption_exact_match": round(caption_exact / len(records), 4),
        "question_accuracy": round(sum(c for c, _ in kinds.values()) / n_questions, 4),
        "questions": n_questions,
        "question_accuracy_by_kind": {k: round(c / t, 4) for k, (c, t) in sorted(kinds.items())},
        "choice_accuracy": round(choice_right / choice_total, 4),
        "choices": choice_total,
        "choice_accuracy_by_kind": {k: round(c / t, 4) for k, (c, t) in sorted(choice_kinds.items())},
        "min_top2_margin_over_all_generations": round(min_margin, 4),
        "eval_minutes": round((time.time() - started) / 60, 2),
    }
    common.write_json(out / "metrics.json", metrics)
    return metrics


def write_sample(records, data_dir: Path, eval_dir: Path, sample_dir: Path) -> None:
    """The bundled demo/test set: images, captions/questions/choices, and the reference outputs."""
    if sample_dir.exists():
        shutil.rmtree(sample_dir)
    (sample_dir / "images").mkdir(parents=True)
    ids = {r["id"] for r in records}
    with open(sample_dir / "captions.jsonl", "w", encoding="utf-8") as captions, \
            open(sample_dir / "questions.jsonl", "w", encoding="utf-8") as questions, \
            open(sample_dir / "choices.jsonl", "w", encoding="utf-8") as choices:
        for r in records:
            image = f"images/{r['id']}.png"
            shutil.copyfile(data_dir / r["image"], sample_dir / image)
            for qa in r["qa"]:
                line = {"id": r["id"], "image": image, "question": qa["question"], "answer": qa["answer"], "kind": qa["kind"]}
                (captions if qa["kind"] == "caption" else questions).write(json.dumps(line) + "\n")
            for item in r["choices"]:
                choices.write(json.dumps({"id": r["id"], "image": image, **item}) + "\n")
    with open(eval_dir / "reference.jsonl", encoding="utf-8") as src, \
            open(sample_dir / "reference.jsonl", "w", encoding="utf-8") as dst:
        for line in src:
            if json.loads(line)["id"] in ids:
                dst.write(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--hf-dir", type=Path, required=True, help="config, tokenizer and processor files")
    parser.add_argument("--text", type=Path, required=True)
    parser.add_argument("--mmproj", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--images", type=int, default=0, help="evaluate only the first N held-out images (0: all)")
    parser.add_argument("--sample", type=int, default=0, help="bundle the first N held-out images")
    parser.add_argument("--sample-dir", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    model = load_model(args.hf_dir, args.text, args.mmproj)
    processor = common.make_processor(args.hf_dir)
    records = world.load(args.data, "test")
    if args.images:
        records = records[: args.images]
    metrics = evaluate(records, args.data, Reference(model, processor), args.out)
    print(json.dumps(metrics, indent=1))
    if args.sample:
        write_sample(records[: args.sample], args.data, args.out, args.sample_dir)


if __name__ == "__main__":
    main()

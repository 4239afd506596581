"""Train the demo model: transformers' Llama4ForConditionalGeneration, from scratch, on the world.

Each step takes a few train images, runs the vision tower once per image, and trains on several
single-turn questions about each image (chat template: user = image + question, assistant =
answer + <|eot|>), with the loss on the answer tokens only. Inputs are built exactly as
transformers' Llama4Processor builds them, so an engine that reproduces that preprocessing sees
at inference what the model saw in training.

    python train.py --data data --model-dir out/hf-train --steps 3000 --seed 20250501
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import common  # noqa: F401  (installs the torchvision workaround before transformers loads it)
import patch_labels
import tokenizer_build
import world
from transformers import Llama4ForConditionalGeneration
from transformers.models.llama4.modeling_llama4 import pixel_shuffle

IGNORE = -100


class Batcher:
    """Turns world records into model inputs.

    Packing: one row per image holds the image prefix once (everything up to <|image_end|>, which
    is the same for every question about that image) followed by each question's suffix
    (question, assistant header, answer, <|eot|>). Position ids restart after the prefix for each
    question and the attention mask lets a question see only the prefix and itself, so every
    question is computed exactly as its own single-turn sequence would be (check_packing verifies
    this), while the image tokens go through the text model once instead of once per question.
    """

    def __init__(self, processor, data_dir: Path):
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.data_dir = data_dir
        self.patch_id = self.tokenizer.convert_tokens_to_ids("<|patch|>")
        self.pad_id = self.tokenizer.convert_tokens_to_ids("<|finetune_right_pad|>")
        self.eot_id = self.tokenizer.convert_tokens_to_ids("<|eot|>")
        self.image_end_id = self.tokenizer.convert_tokens_to_ids("<|image_end|>")
        self._prompt_cache: dict[str, str] = {}
        # The processor resizes and pads in uint8, then rescales and normalises each value in
        # bfloat16: a function of the byte alone. Caching the uint8 tiles and mapping them through
        # that table gives its output bit for bit (checked on every first use) at 1/2 the memory.
        ip = processor.image_processor
        ramp = torch.arange(256, dtype=torch.uint8).view(1, 1, 1, 256).expand(1, 3, 1, 256).contiguous()
        table = ip.rescale_and_normalize(ramp, True, ip.rescale_factor, True, ip.image_mean, ip.image_std)[0, :, 0]
        # widened to float32 (exact) because the vision tower runs in float32
        self.byte_to_pixel = table.float().reshape(-1)
        self.channel_offset = (torch.arange(3) * 256).view(1, 3, 1, 1)
        self._tiles: dict[str, tuple[torch.Tensor, list[int], torch.Tensor]] = {}

    def image_inputs(self, record: dict):
        """(pixel_values [tiles, 3, H, W], aspect ratio [rows, cols]) as the processor gives them
        (its bfloat16 values, widened to float32 exactly)."""
        cached = self._tiles.get(record["id"])
        if cached is None:
            image = Image.open(self.data_dir / record["image"]).convert("RGB")
            raw = self.processor.image_processor(image, do_rescale=False, do_normalize=False, return_tensors="pt")
            aspect = raw["aspect_ratios"][0].tolist()
            full = self.processor.image_processor(image, return_tensors="pt")["pixel_values"]
            if not torch.equal(self._to_pixels(raw["pixel_values"]), full.float()):
                raise AssertionError(f"cached tiles of {record['id']} differ from the processor's output")
            labels = patch_labels.labels_for(record, aspect, common.TILE, common.PATCH)
            cached = (raw["pixel_values"], aspect, labels)
            self._tiles[record["id"]] = cached
        return self._to_pixels(cached[0]), cached[1]

    def patch_labels(self, record: dict) -> torch.Tensor:
        self.image_inputs(record)
        return self._tiles[record["id"]][2]

    def _to_pixels(self, tiles_u8: torch.Tensor) -> torch.Tensor:
        return self.byte_to_pixel[tiles_u8.long() + self.channel_offset]

    def prompt_ids(self, question: str, aspect_ratio) -> list[int]:
        if question not in self._prompt_cache:
            self._prompt_cache[question] = common.chat_prompt(self.processor, question)
        text = common.expand_image(self.processor, self._prompt_cache[question], aspect_ratio)
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def answer_ids(self, answer: str) -> list[int]:
        return self.tokenizer(answer, add_special_tokens=False)["input_ids"] + [self.eot_id]

    def build_vision(self, items: list[tuple[dict, list[dict]]]):
        """Pixel values and per-patch labels only, for the vision stage."""
        pixels = [self.image_inputs(record)[0] for record, _ in items]
        labels = [self.patch_labels(record) for record, _ in items]
        return {"pixel_values": torch.cat(pixels), "patch_labels": torch.cat(labels)}

    def build(self, items: list[tuple[dict, list[dict]]], packed: bool = True):
        """items: (record, questions) pairs. Returns the tensors of one step; packed=False gives
        one plain row per question (the reference layout, used to check the packing)."""
        pixel_values, tiles_per_image, rows, kinds, labels_per_patch = [], [], [], [], []
        for image_index, (record, questions) in enumerate(items):
            pv, aspect = self.image_inputs(record)
            pixel_values.append(pv)
            labels_per_patch.append(self.patch_labels(record))
            tiles_per_image.append(pv.shape[0])
            sequences = [(self.prompt_ids(q["question"], aspect), self.answer_ids(q["answer"])) for q in questions]
            kinds += [q["kind"] for q in questions]
            if packed:
                split = sequences[0][0].index(self.image_end_id) + 1
                prefix = sequences[0][0][:split]
                row = {"ids": list(prefix), "labels": [IGNORE] * split, "pos": list(range(split)),
                       "segment": [0] * split, "image": image_index, "answers": []}
                for k, (prompt, answer) in enumerate(sequences, start=1):
                    if prompt[:split] != prefix:
                        raise AssertionError("questions about one image must share the image prefix")
                    suffix = prompt[split:] + answer
                    row["answers"].append(len(row["ids"]) + len(prompt) - split)
                    row["ids"] += suffix
                    row["labels"] += [IGNORE] * (len(prompt) - split) + answer
                    row["pos"] += list(range(split, split + len(suffix)))
                    row["segment"] += [k] * len(suffix)
                rows.append(row)
            else:
                for prompt, answer in sequences:
                    ids = prompt + answer
                    rows.append({"ids": ids, "labels": [IGNORE] * len(prompt) + answer, "pos": list(range(len(ids))),
                                 "segment": [0] * len(ids), "image": image_index})
        length = max(len(r["ids"]) for r in rows)
        if length >= 8191:
            # beyond this, no-RoPE temperature tuning and chunked attention would see the packed positions
            raise ValueError(f"packed row of {length} tokens is too long")
        n = len(rows)
        input_ids = torch.full((n, length), self.pad_id, dtype=torch.long)
        labels = torch.full((n, length), IGNORE, dtype=torch.long)
        position_ids = torch.zeros((n, length), dtype=torch.long)
        segment = torch.full((n, length), -1, dtype=torch.long)
        for i, r in enumerate(rows):
            m = len(r["ids"])
            input_ids[i, :m] = torch.tensor(r["ids"])
            labels[i, :m] = torch.tensor(r["labels"])
            position_ids[i, :m] = torch.tensor(r["pos"])
            segment[i, :m] = torch.tensor(r["segment"])
            position_ids[i, m:] = torch.arange(length - m)
        causal = torch.ones(length, length, dtype=torch.bool).tril()
        same = segment.unsqueeze(2) == segment.unsqueeze(1)
        sees_prefix = (segment == 0).unsqueeze(1) & (segment.unsqueeze(2) >= 0)
        allowed = (causal & (same | sees_prefix)).unsqueeze(1)
        # additive form: understood by both the eager and the sdpa attention of transformers
        mask = torch.zeros(allowed.shape).masked_fill_(~allowed, torch.finfo(torch.float32).min)
        # where each question's answer starts, to group its tokens back into one answer
        answer_row = torch.full((n, length), -1, dtype=torch.long)
        counter = 0
        for i, r in enumerate(rows):
            seg_ids = segment[i]
            for k in range(1, int(seg_ids.max()) + 1) if packed else [0]:
                answer_row[i][(seg_ids == k) & (labels[i] != IGNORE)] = counter
                counter += 1
        return {
            "pixel_values": torch.cat(pixel_values),
            "patch_labels": torch.cat(labels_per_patch),
            "tiles_per_image": tiles_per_image,
            "image_of_row": [r["image"] for r in rows],
            "input_ids": input_ids,
            "labels": labels,
            "position_ids": position_ids,
            "attention_mask": mask,
            "answer_of_token": answer_row,
            "n_answers": counter,
            "kinds": kinds,
        }


def forward(model, batch, patch_id: int):
    """Loss over answer tokens, and per question whether greedy decoding would reproduce the answer.

    The vision tower runs once per image; its projected features replace the <|patch|> embeddings
    (masked_scatter, as Llama4ForConditionalGeneration.forward does)."""
    features = model.get_image_features(pixel_values=batch["pixel_values"], return_dict=True).last_hidden_state
    projected = model.multi_modal_projector(features.reshape(-1, features.shape[-1]))
    per_image = torch.split(projected, [t * features.shape[1] for t in batch["tiles_per_image"]])
    scattered = torch.cat([per_image[i] for i in batch["image_of_row"]])
    input_ids = batch["input_ids"]
    embeds = model.get_input_embeddings()(input_ids)
    embeds = embeds.masked_scatter((input_ids == patch_id).unsqueeze(-1), scattered)
    mask = batch["attention_mask"]
    hidden = model.language_model.model(inputs_embeds=embeds, position_ids=batch["position_ids"],
                                        attention_mask={"full_attention": mask, "chunked_attention": mask}).last_hidden_state
    # position t predicts token t+1: only answer positions go through the output head
    targets = batch["labels"][:, 1:]
    selected = targets != IGNORE
    logits = model.language_model.lm_head(hidden[:, :-1][selected])
    loss = F.cross_entropy(logits, targets[selected])
    wrong = (logits.argmax(-1) != targets[selected]).long()
    # an answer is right under greedy decoding iff every one of its tokens (and <|eot|>) is the argmax
    answer_wrong = torch.zeros(batch["n_answers"], dtype=torch.long).index_add_(
        0, batch["answer_of_token"][:, 1:][selected], wrong)
    return loss, answer_wrong == 0, logits, features


class PatchLabelHead(torch.nn.Module):
    """Training-only: predicts, from each vision token (after pixel shuffle and the adapter), the
    shape, colour and left-to-right slot covering each of the patches it was made from (see
    patch_labels.py)."""

    def __init__(self, feature_dim: int, patches_per_token: int):
        super().__init__()
        self.patches_per_token = patches_per_token
        self.sizes = (len(patch_labels.SHAPE_CLASSES), len(patch_labels.COLOUR_CLASSES), len(patch_labels.SLOT_CLASSES))
        self.linear = torch.nn.Linear(feature_dim, patches_per_token * sum(self.sizes))

    def loss(self, features: torch.Tensor, labels: torch.Tensor, shuffle_ratio: float):
        """Summed cross-entropies, and the shape accuracy on patches that show a shape."""
        # pixel_shuffle groups the labels exactly as it grouped the patches into tokens
        grouped = pixel_shuffle(labels.float(), shuffle_ratio).round().long()
        grouped = grouped.reshape(-1, len(self.sizes))
        logits = self.linear(features).reshape(-1, sum(self.sizes))
        total, start = 0.0, 0
        for i, size in enumerate(self.sizes):
            total = total + F.cross_entropy(logits[:, start: start + size], grouped[:, i])
            start += size
        on_shape = grouped[:, 0] > 0
        shape_accuracy = (logits[on_shape, : self.sizes[0]].argmax(-1) == grouped[on_shape, 0]).float().mean()
        return total, shape_accuracy.item()


def check_training_path(model, batcher, items, patch_id):
    """The training shortcuts (packed rows, sparse experts) must give the same answer logits as
    transformers' own modules on one plain sequence per question."""
    model.eval()
    with torch.no_grad():
        _, _, packed, _ = forward(model, batcher.build(items, packed=True), patch_id)
        use_sparse_experts(model, False)
        _, _, plain, _ = forward(model, batcher.build(items, packed=False), patch_id)
        use_sparse_experts(model, True)
    model.train()
    # both list answer tokens question by question in the same order
    diff = (packed - plain).abs().max().item()
    if packed.shape != plain.shape or diff > 1e-4:
        raise AssertionError(f"packed and plain logits differ by {diff}")
    return diff


def use_sparse_experts(model, enabled: bool = True) -> None:
    """Training speed-up: compute each token's routed expert only. transformers' Llama4TextExperts
    runs every token through every expert with the unchosen ones' inputs scaled by
    sigmoid(-inf) = 0, and an expert maps a zero input to exactly zero (SwiGLU without bias), so
    skipping them changes neither the outputs nor the gradients. Evaluation uses the unpatched
    module."""
    for module in model.modules():
        if type(module).__name__ == "Llama4TextMoe":
            if enabled:
                module.forward = _sparse_moe_forward.__get__(module)
            elif "forward" in module.__dict__:
                del module.forward


def _sparse_moe_forward(self, hidden_states):
    hidden_states = hidden_states.reshape(-1, self.hidden_dim)
    router_scores, router_logits = self.router(hidden_states)
    experts = self.experts
    out = self.shared_expert(hidden_states)
    for e in range(self.num_experts):
        rows = (router_scores[:, e] > 0).nonzero(as_tuple=True)[0]
        if rows.numel() == 0:
            continue
        x = hidden_states[rows] * router_scores[rows, e:e + 1]
        gate, up = (x @ experts.gate_up_proj[e]).chunk(2, dim=-1)
        out = out.index_add(0, rows, (up * experts.act_fn(gate)) @ experts.down_proj[e])
    return out, router_logits


class RouterBalance:
    """Switch-style load-balancing loss over the MoE routers, so several experts stay in use."""

    def __init__(self, model):
        self.logits = []
        for module in model.modules():
            if type(module).__name__ == "Llama4Router":
                module.register_forward_hook(lambda _m, _i, out: self.logits.append(out[1]))

    def loss_and_usage(self):
        losses, usage = [], []
        for logits in self.logits:
            probs = logits.float().softmax(-1)
            counts = F.one_hot(logits.argmax(-1), logits.shape[-1]).float().mean(0)
            losses.append(logits.shape[-1] * (counts * probs.mean(0)).sum())
            usage.append(counts.detach())
        self.logits = []
        return torch.stack(losses).mean(), usage


@torch.no_grad()
def pca_init_patch_embedding(model, batcher, records, scale: float = 0.5) -> None:
    """Start the patch embedding from the whitened principal components of the world's patches:
    a smooth basis in which neighbouring edge positions project alike, which the ViT otherwise
    has to discover from scratch (measured: faster per-patch shape learning)."""
    vision = model.vision_model
    pixels = torch.cat([batcher.image_inputs(r)[0] for r in records])
    patches = vision.patch_embedding.unfold(pixels).permute(0, 2, 1).reshape(-1, vision.patch_embedding.linear.in_features)
    centred = patches - patches.mean(0)
    _, singular, components = torch.linalg.svd(centred, full_matrices=False)
    hidden = vision.patch_embedding.linear.out_features
    spread = singular[:hidden, None] / patches.shape[0] ** 0.5
    vision.patch_embedding.linear.weight.copy_(components[:hidden] / spread * scale)


def vision_step(model, batch, label_head, shuffle_ratio):
    features = model.get_image_features(pixel_values=batch["pixel_values"], return_dict=True).last_hidden_state
    return label_head.loss(features, batch["patch_labels"], shuffle_ratio)


def sample_items(records, rng, images_per_step, questions_per_image, caption_share):
    items = []
    for index in rng.choice(len(records), images_per_step, replace=False):
        record = records[index]
        qa = record["qa"]
        caption = [q for q in qa if q["kind"] == "caption"]
        others = [q for q in qa if q["kind"] != "caption"]
        picked = list(caption) if rng.random() < caption_share else []
        need = questions_per_image - len(picked)
        picked += [others[i] for i in rng.choice(len(others), min(need, len(others)), replace=False)]
        items.append((record, picked))
    return items


def evaluate(model, batcher, records, patch_id, images_per_batch=8):
    """Teacher-forced exact match, which equals greedy exact match (see forward)."""
    model.eval()
    per_kind: dict[str, list[int]] = {}
    with torch.no_grad():
        for start in range(0, len(records), images_per_batch):
            chunk = [(r, r["qa"]) for r in records[start: start + images_per_batch]]
            batch = batcher.build(chunk)
            _, row_correct, _, _ = forward(model, batch, patch_id)
            for kind, ok in zip(batch["kinds"], row_correct.tolist()):
                per_kind.setdefault(kind, [0, 0])
                per_kind[kind][0] += ok
                per_kind[kind][1] += 1
    model.train()
    return {k: round(c / n, 4) for k, (c, n) in sorted(per_kind.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--images-per-step", type=int, default=8)
    parser.add_argument("--vision-steps", type=int, default=0,
                        help="curriculum stage 0: vision tower alone on the per-patch labels, warmup images")
    parser.add_argument("--vision-images-per-step", type=int, default=64)
    parser.add_argument("--pca-init", action="store_true",
                        help="initialise the patch embedding with the whitened principal components of image patches")
    parser.add_argument("--warmup-steps", type=int, default=0,
                        help="curriculum: first steps on the warmup split's small one-tile images")
    parser.add_argument("--warmup-images-per-step", type=int, default=16)
    parser.add_argument("--warmup-share", type=float, default=0.15,
                        help="share of warmup images in the batches after the curriculum phase")
    parser.add_argument("--questions-per-image", type=int, default=4)
    parser.add_argument("--caption-share", type=float, default=0.6, help="chance an image's step includes its caption")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--balance-coef", type=float, default=0.01)
    parser.add_argument("--aux-coef", type=float, default=1.0, help="weight of the per-patch label loss")
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--eval-images", type=int, default=48)
    parser.add_argument("--threads", type=int, default=1,
                        help="1 by default: on a shared machine a descheduled second OpenMP thread stalls every op")
    args = parser.parse_args()

    started = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    vocab = tokenizer_build.build(args.model_dir)
    processor = common.make_processor(args.model_dir)
    config = common.make_config(vocab["special_ids"], vocab["vocab_size"])
    config._attn_implementation = "sdpa"
    model = Llama4ForConditionalGeneration(config)
    model.train()
    use_sparse_experts(model)
    patch_id = config.image_token_index

    batcher = Batcher(processor, args.data)
    train_records = world.load(args.data, "train")
    warmup_records = world.load(args.data, "warmup") if args.vision_steps or args.warmup_steps or args.warmup_share else []
    test_records = world.load(args.data, "test")[: args.eval_images]
    router_balance = RouterBalance(model)
    if args.pca_init:
        pca_init_patch_embedding(model, batcher, warmup_records[:300] or train_records[:300])

    patches_per_token = round(1 / config.vision_config.pixel_shuffle_ratio ** 2)
    label_head = PatchLabelHead(config.vision_config.projector_output_dim, patches_per_token)
    parameters = list(model.named_parameters()) + [("label_head." + n, p) for n, p in label_head.named_parameters()]
    decay = [p for n, p in parameters if p.ndim >= 2 and "embedding" not in n]
    no_decay = [p for n, p in parameters if not (p.ndim >= 2 and "embedding" not in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))

    total_steps = args.vision_steps + args.steps

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        progress = (step - args.warmup) / max(1, total_steps - args.warmup)
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))

    log = []
    packing_diff = check_training_path(model, batcher, sample_items(train_records, np.random.default_rng(0), 4,
                                                             args.questions_per_image, 1.0), patch_id)
    router_balance.logits = []
    print(json.dumps({"training_path_check_max_abs_diff": packing_diff}), flush=True)
    window_loss, window_acc, window_aux, window_shape, window_start = [], [], [], [], time.time()
    for step in range(total_steps):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        if step < args.vision_steps:
            items = sample_items(warmup_records, rng, args.vision_images_per_step, 0, 0.0)
            aux, aux_shape_accuracy = vision_step(model, batcher.build_vision(items), label_head,
                                                  config.vision_config.pixel_shuffle_ratio)
            optimizer.zero_grad(set_to_none=True)
            (args.aux_coef * aux).backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in parameters], 1.0)
            optimizer.step()
            window_aux.append(aux.item())
            window_shape.append(aux_shape_accuracy)
            if (step + 1) % 100 == 0 or step + 1 == args.vision_steps:
                entry = {"step": step + 1, "stage": "vision", "aux_loss": round(float(np.mean(window_aux)), 4),
                         "aux_shape_accuracy": round(float(np.mean(window_shape)), 4), "lr": round(lr_at(step), 6),
                         "sec_per_step": round((time.time() - window_start) / len(window_aux), 3),
                         "elapsed_min": round((time.time() - started) / 60, 2)}
                print(json.dumps(entry), flush=True)
                log.append(entry)
                window_aux, window_shape, window_start = [], [], time.time()
            continue
        qa_step = step - args.vision_steps
        if qa_step < args.warmup_steps:
            items = sample_items(warmup_records, rng, args.warmup_images_per_step, args.questions_per_image,
                                 args.caption_share)
        else:
            n_warm = int(rng.binomial(args.images_per_step, args.warmup_share)) if warmup_records else 0
            items = sample_items(train_records, rng, args.images_per_step - n_warm, args.questions_per_image,
                                 args.caption_share)
            if n_warm:
                items += sample_items(warmup_records, rng, n_warm, args.questions_per_image, args.caption_share)
        batch = batcher.build(items)
        loss, row_correct, _, features = forward(model, batch, patch_id)
        balance, usage = router_balance.loss_and_usage()
        aux, aux_shape_accuracy = label_head.loss(features, batch["patch_labels"], config.vision_config.pixel_shuffle_ratio)
        optimizer.zero_grad(set_to_none=True)
        (loss + args.balance_coef * balance + args.aux_coef * aux).backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in parameters], 1.0)
        optimizer.step()
        window_loss.append(loss.item())
        window_aux.append(aux.item())
        window_shape.append(aux_shape_accuracy)
        window_acc.append(row_correct.float().mean().item())
        if (step + 1) % 50 == 0 or step == total_steps - 1:
            entry = {"step": step + 1, "loss": round(float(np.mean(window_loss)), 4),
                     "aux_loss": round(float(np.mean(window_aux)), 4),
                     "aux_shape_accuracy": round(float(np.mean(window_shape)), 4),
                     "train_exact": round(float(np.mean(window_acc)), 4),
                     "lr": round(lr_at(step), 6), "sec_per_step": round((time.time() - window_start) / len(window_loss), 3),
                     "elapsed_min": round((time.time() - started) / 60, 2),
                     "expert_usage": [[round(x, 2) for x in u.tolist()] for u in usage]}
            print(json.dumps(entry), flush=True)
            log.append(entry)
            window_loss, window_acc, window_aux, window_shape, window_start = [], [], [], [], time.time()
        if (qa_step + 1) % args.eval_every == 0 or step == total_steps - 1:
            scores = evaluate(model, batcher, test_records, patch_id)
            router_balance.logits = []
            entry = {"step": step + 1, "heldout_exact": scores, "elapsed_min": round((time.time() - started) / 60, 2)}
            print(json.dumps(entry), flush=True)
            log.append(entry)

    model.save_pretrained(args.model_dir)
    processor.save_pretrained(args.model_dir)
    processor.image_processor.save_pretrained(args.model_dir)  # preprocessor_config.json, for older loaders
    tokenizer_build.build(args.model_dir)  # processor.save_pretrained rewrote the tokenizer files without our keys
    summary = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
               "train_minutes": round((time.time() - started) / 60, 2),
               "n_parameters": sum(p.numel() for p in model.parameters()),
               "training_path_check_max_abs_diff": packing_diff, "log": log}
    common.write_json(args.model_dir / "train_log.json", summary)
    print(json.dumps({k: v for k, v in summary.items() if k != "log"}))


if __name__ == "__main__":
    main()

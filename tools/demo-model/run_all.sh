#!/usr/bin/env bash
# Regenerates the demo model from nothing: world, tokenizer + training, GGUF export, reference
# evaluation, bundled sample and model card. The project's build and tests never run this; they
# use the committed files in models/demo/.
set -euo pipefail
cd "$(dirname "$0")"
MODELS=../../models/demo
WORLD_SEED=4242
TRAIN_SEED=4242
PY=.venv/bin/python

if [ ! -x "$PY" ]; then
  python3 -m venv .venv
  .venv/bin/pip install -r requirements.txt
  # the only torchvision wheel matching torch 2.13 is a CUDA build: its compiled ops are not
  # needed (common.py explains), so it is installed without dependencies
  .venv/bin/pip install --no-deps torchvision==0.28.0
fi

cat > out.commands <<CMDS
$PY world.py --out out/data --seed $WORLD_SEED --warmup 3000 --train 6000 --test 300
$PY train.py --data out/data --model-dir out/hf-train --seed $TRAIN_SEED --pca-init --vision-steps 1000 --warmup-steps 500 --steps 3000 --questions-per-image 8 --eval-every 1000 --eval-images 48
$PY export_gguf.py out/hf-train --text $MODELS/herd-demo-text-f16.gguf --mmproj $MODELS/herd-demo-mmproj-f16.gguf --text-type f16 --mmproj-type f16 --hf-copy $MODELS/hf
$PY eval.py --data out/data --hf-dir out/hf-train --text $MODELS/herd-demo-text-f16.gguf --mmproj $MODELS/herd-demo-mmproj-f16.gguf --out out/eval --sample 24 --sample-dir $MODELS/sample
CMDS
mkdir -p out "$MODELS"
while read -r line; do echo "+ $line"; eval "$line"; done < out.commands
$PY model_card.py --hf-dir out/hf-train --eval out/eval --models "$MODELS" --world-seed $WORLD_SEED \
  --world-counts warmup=3000,train=6000,test=300 --commands out.commands
rm out.commands

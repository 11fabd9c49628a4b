#!/usr/bin/env bash
# Rebuilds the embedded captioner in models/captioner-synth (or $MODEL_DIR) from nothing, then
# evaluates it on a held-out synthetic set drawn with another seed. Every step resumes after an
# interruption.
#   1. 6,000 pictures (seed 1): concept-pretrained backbone, then the decoder on cached features:
#      an attention decoder over the backbone's 5×6 feature map (DECODER=layers for the older
#      merge LSTM over the flattened features)
#   2. 16,000 pictures (seed 1; the first 6,000 are the same): backbone and decoder fine-tuned together
#   3. 40,000 fresh pictures (seed 3): a second fine-tuning stage; more pictures, not more epochs,
#      is what teaches the shapes of small objects
#   3b. another 40,000 fresh pictures (seed 4): pairs and triples still improved at the end of 3
#   3c. a last 40,000 fresh pictures (seed 5) at half the learning rate, to settle what 3b moved
#   4. 1,000 pictures (seed 2): BLEU, CIDEr, exact objects per scene kind, and the attention
#      heatmaps (models/captioner-synth/attention.png)
#   5. the out-of-domain detector (livecap domain)
set -euo pipefail
cd "$(dirname "$0")/.."
FINETUNE_EPOCHS="${FINETUNE_EPOCHS:-12}"
HUGE_EPOCHS="${HUGE_EPOCHS:-4}"
DECODER="${DECODER:-attention}"
MODEL_DIR="${MODEL_DIR:-models/captioner-synth}"
livecap() { node bin/livecap.js "$@"; }

[ -f data/synth-train/captions.txt ] || livecap synth dataset --out data/synth-train --count 6000 --seed 1
livecap train --dataset data/synth-train --out "$MODEL_DIR" --backbone-epochs 10 --epochs 12 --units 192 --embedding 64 --decoder "$DECODER"
[ -f data/synth-big/captions.txt ] || livecap synth dataset --out data/synth-big --count 16000 --seed 1
livecap finetune --model "$MODEL_DIR" --dataset data/synth-big --epochs "$FINETUNE_EPOCHS"
[ -f data/synth-huge/captions.txt ] || livecap synth dataset --out data/synth-huge --count 40000 --seed 3
livecap finetune --model "$MODEL_DIR" --dataset data/synth-huge --epochs "$HUGE_EPOCHS"
[ -f data/synth-huge-2/captions.txt ] || livecap synth dataset --out data/synth-huge-2 --count 40000 --seed 4
livecap finetune --model "$MODEL_DIR" --dataset data/synth-huge-2 --epochs "$HUGE_EPOCHS"
[ -f data/synth-huge-3/captions.txt ] || livecap synth dataset --out data/synth-huge-3 --count 40000 --seed 5
livecap finetune --model "$MODEL_DIR" --dataset data/synth-huge-3 --epochs "$HUGE_EPOCHS" --learning-rate 1.5e-4
[ -f data/synth-heldout/captions.txt ] || livecap synth dataset --out data/synth-heldout --count 1000 --seed 2
livecap eval --dataset data/synth-heldout --split all --model "$MODEL_DIR" --json "$MODEL_DIR/eval.json"
# 5. the out-of-domain detector: fitted on synthetic pictures, thresholds at the 99.5th
#    percentile of held-out ones; reported on the real sample footage and photos when
#    scripts/fetch-real-media.sh has fetched them
real=()
media="${LIVECAP_REAL_MEDIA:-data/cache/real-media}/opencv-doc/usr/share/doc/opencv-doc/examples/data"
[ -d "$media" ] && real=(--real "$media")
livecap domain --model "$MODEL_DIR" "${real[@]}"

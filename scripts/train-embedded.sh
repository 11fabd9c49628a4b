#!/usr/bin/env bash
# Rebuilds the embedded captioner in models/captioner-synth from nothing, then evaluates it on a
# held-out synthetic set drawn with another seed. Every step resumes after an interruption.
#   1. 6,000 pictures (seed 1): concept-pretrained backbone, then the decoder on cached features:
#      an attention decoder over the backbone's 5×6 feature map (DECODER=layers for the older
#      merge LSTM over the flattened features)
#   2. 16,000 pictures (seed 1; the first 6,000 are the same): backbone and decoder fine-tuned together
#   3. 40,000 fresh pictures (seed 3): a second fine-tuning stage; more pictures, not more epochs,
#      is what teaches the shapes of small objects
#   4. 1,000 pictures (seed 2): BLEU, CIDEr, exact objects per scene kind, and the attention
#      heatmaps (models/captioner-synth/attention.png)
#   5. the out-of-domain detector (livecap domain)
set -euo pipefail
cd "$(dirname "$0")/.."
FINETUNE_EPOCHS="${FINETUNE_EPOCHS:-12}"
HUGE_EPOCHS="${HUGE_EPOCHS:-4}"
DECODER="${DECODER:-attention}"
livecap() { node bin/livecap.js "$@"; }

[ -f data/synth-train/captions.txt ] || livecap synth dataset --out data/synth-train --count 6000 --seed 1
livecap train --dataset data/synth-train --out models/captioner-synth --backbone-epochs 10 --epochs 12 --units 192 --embedding 64 --decoder "$DECODER"
[ -f data/synth-big/captions.txt ] || livecap synth dataset --out data/synth-big --count 16000 --seed 1
livecap finetune --model models/captioner-synth --dataset data/synth-big --epochs "$FINETUNE_EPOCHS"
[ -f data/synth-huge/captions.txt ] || livecap synth dataset --out data/synth-huge --count 40000 --seed 3
livecap finetune --model models/captioner-synth --dataset data/synth-huge --epochs "$HUGE_EPOCHS"
[ -f data/synth-heldout/captions.txt ] || livecap synth dataset --out data/synth-heldout --count 1000 --seed 2
livecap eval --dataset data/synth-heldout --split all --model models/captioner-synth --json models/captioner-synth/eval.json
# 5. the out-of-domain detector: fitted on synthetic pictures, threshold at the 99th percentile
#    of held-out ones; real photos and footage are reported on when LIVECAP_REAL_MEDIA names them
livecap domain --model models/captioner-synth ${LIVECAP_REAL_MEDIA:+--real "$LIVECAP_REAL_MEDIA"}

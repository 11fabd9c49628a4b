#!/usr/bin/env bash
# Rebuilds the embedded captioner in models/captioner-synth from nothing, then evaluates it on a
# held-out synthetic set drawn with another seed. Resumable: run it again after an interruption.
set -euo pipefail
cd "$(dirname "$0")/.."
livecap() { node bin/livecap.js "$@"; }

[ -f data/synth-train/captions.txt ] || livecap synth dataset --out data/synth-train --count 6000 --seed 1
livecap train --dataset data/synth-train --out models/captioner-synth --backbone-epochs 10 --epochs 12 --units 192 --embedding 64
[ -f data/synth-heldout/captions.txt ] || livecap synth dataset --out data/synth-heldout --count 1000 --seed 2
livecap eval --dataset data/synth-heldout --split all --model models/captioner-synth --json models/captioner-synth/eval.json

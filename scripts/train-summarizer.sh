#!/usr/bin/env bash
# Rebuilds the embedded summarizer in models/summarizer-synth from nothing, then evaluates it on
# held-out synthetic videos. Resumes after an interruption (models/summarizer-synth/checkpoint).
#   1. a byte-level BPE tokenizer and a small BART trained on fresh synthetic pairs every epoch
#      (the captions of a run of one to six scenes → the summary of those scenes)
#   2. 40 held-out videos cut into 20 s windows every 10 s: ROUGE-L and colour/shape accuracy,
#      with grammar captions, then with the embedded captioner's captions of the rendered scenes
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS="${EPOCHS:-20}"
livecap() { node bin/livecap.js "$@"; }

livecap train-summarizer --out models/summarizer-synth --epochs "$EPOCHS"
livecap eval-summarizer --model models/summarizer-synth --json models/summarizer-synth/eval.json
livecap eval-summarizer --model models/summarizer-synth --captioner embedded --json models/summarizer-synth/eval-with-captioner.json

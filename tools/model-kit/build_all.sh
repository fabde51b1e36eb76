#!/usr/bin/env bash
# npm run models: rebuild every model-kit artifact from scratch, fixed seeds. About 3.5 hours on 2 cores.
#   corpus -> tokenizers -> training -> ONNX export -> adapters -> evaluation -> goldens -> model cards -> Node checks
# Needs tools/model-kit/setup.sh (Debian python3-torch, python3-onnx, libopenblas0-pthread, python3-regex) and the
# npm registry (corpus packages). Logs go to tools/model-kit/logs/ (committed), work files to tools/model-kit/work/.
set -euo pipefail
KIT="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$KIT/../.." && pwd)"
cd "$KIT"
PY=/usr/bin/python3
# one thread per training process (faster than two here); OpenBLAS must not spawn its own threads
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONHASHSEED=0
# glibc returns every freed block over its mmap threshold to the kernel; training allocates and frees ~33 MB
# attention tensors many times a step, and the page faults of re-mapping them made training ~4x slower on this VM.
# Keep freed memory in the process instead (no effect on the arithmetic).
export MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=1073741824
# 2,432 steps x 8 x 512 = 9,961,472 training tokens per family member (~0.9 epochs of the training stream)
FAMILY_STEPS=${FAMILY_STEPS:-2432}
CHECKPOINTS=${CHECKPOINTS:-76,152,304,608,1216}
BYTE_STEPS=${BYTE_STEPS:-1050}
LLAMA_STEPS=${LLAMA_STEPS:-500}
ADAPTER_STEPS=${ADAPTER_STEPS:-300}
mkdir -p work logs
LOG="$KIT/logs/build_all.log"
: > "$LOG"
step() { echo "[$(date -u +%FT%TZ)] $*" | tee -a "$LOG"; }

step "corpus: npm ci of corpus/package.json (registry only, --ignore-scripts)"
rm -rf work/corpus-npm && mkdir -p work/corpus-npm
cp corpus/package.json corpus/package-lock.json work/corpus-npm/
(cd work/corpus-npm && npm ci --ignore-scripts --no-audit --no-fund --omit=optional --legacy-peer-deps >/dev/null)
$PY corpus.py | tee -a "$LOG"

step "tokenizers"
$PY build_tokenizers.py > logs/tokenizers.log 2>&1
$PY lenskit/tokcheck.py >> logs/tokenizers.log
node check_tokenizers.cjs lens-gpt2-bpe4k lens-gpt2-byte lens-llama-sp | tee logs/tokenizer-check.log | tee -a "$LOG"

step "train the size family ($FAMILY_STEPS steps each; the default model is its largest member) and lens-gpt2-byte, lens-llama-sp"
# Two queues side by side, one thread each. Queue A: the default model, then the byte model. Queue B: the four smaller
# family members (largest first; lens-gpt2-bpe4k-98k keeps checkpoints at doubling step counts for L(D)), then
# lens-llama-sp. Every family member reads the same token stream in the same order (same steps, batch, seq, seed).
family() { # name lr [extra args]
  local name=$1 lr=$2; shift 2
  $PY train.py --name "$name" --steps "$FAMILY_STEPS" --lr "$lr" --min-lr "$(awk "BEGIN{print $lr/10}")" --warmup 100 "$@" > "work/train-$name.out" 2>&1
}
(
  family lens-gpt2-bpe4k 3e-3
  $PY train.py --name lens-gpt2-byte --steps "$BYTE_STEPS" > work/train-byte.out 2>&1
) & P1=$!
(
  family lens-gpt2-bpe4k-922k 3.8e-3
  family lens-gpt2-bpe4k-332k 4.9e-3
  family lens-gpt2-bpe4k-98k 6e-3 --save-at "$CHECKPOINTS"
  family lens-gpt2-bpe4k-25k 8.5e-3
  $PY train.py --name lens-llama-sp --steps "$LLAMA_STEPS" --lr 3e-3 > work/train-llama.out 2>&1
) & P2=$!
wait $P1; wait $P2
tail -n1 logs/train-lens-gpt2-bpe4k*.log logs/train-lens-gpt2-byte.log logs/train-lens-llama-sp.log | tee -a "$LOG"

# The steps after training live in their own script, read when training ends (so they can change during the hours the
# training takes without touching this running script).
source "$KIT/build_after_training.sh"

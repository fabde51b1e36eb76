#!/usr/bin/env bash
# npm run models: rebuild every model-kit artifact from scratch, fixed seeds. ~60-90 min on 2 cores.
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
BPE4K_STEPS=${BPE4K_STEPS:-900}
BPE4K_STEPS2=${BPE4K_STEPS2:-300}
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

step "train lens-gpt2-bpe4k ($BPE4K_STEPS steps) and lens-gpt2-byte ($BYTE_STEPS steps) in parallel"
$PY train.py --name lens-gpt2-bpe4k --steps "$BPE4K_STEPS" > work/train-bpe4k.out 2>&1 & P1=$!
$PY train.py --name lens-gpt2-byte --steps "$BYTE_STEPS" > work/train-byte.out 2>&1 & P2=$!
wait $P1; wait $P2
tail -n1 logs/train-lens-gpt2-bpe4k.log logs/train-lens-gpt2-byte.log | tee -a "$LOG"

step "train lens-llama-sp ($LLAMA_STEPS steps) and a second phase of lens-gpt2-bpe4k ($BPE4K_STEPS2 more steps on unseen data) in parallel"
# phase 2 reads the token stream right after the windows of phase 1 (--offset-tokens -1)
$PY train.py --name lens-llama-sp --steps "$LLAMA_STEPS" --lr 3e-3 > work/train-llama.out 2>&1 & P1=$!
$PY train.py --name lens-gpt2-bpe4k --resume --steps "$BPE4K_STEPS2" --offset-tokens -1 \
  --lr 8e-4 --min-lr 5e-5 --warmup 20 --seed 2 > work/train-bpe4k-2.out 2>&1 & P2=$!
wait $P1; wait $P2
tail -n1 logs/train-lens-llama-sp.log logs/train-lens-gpt2-bpe4k.log | tee -a "$LOG"

step "train the two LoRA adapters ($ADAPTER_STEPS steps each) in parallel"
$PY train.py --name lens-gpt2-bpe4k --adapter markdown-prose --domain prose --steps "$ADAPTER_STEPS" --warmup 10 --lr 4e-3 --min-lr 4e-4 --seed 3 > work/train-adapter-prose.out 2>&1 & P1=$!
$PY train.py --name lens-gpt2-bpe4k --adapter typescript-code --domain code --steps "$ADAPTER_STEPS" --warmup 10 --lr 4e-3 --min-lr 4e-4 --seed 3 > work/train-adapter-code.out 2>&1 & P2=$!
wait $P1; wait $P2
tail -n1 logs/train-lens-gpt2-bpe4k.*.log | tee -a "$LOG"

step "ONNX export, no-LoRA fixture, PEFT adapters"
$PY export.py model lens-gpt2-bpe4k lens-gpt2-byte lens-llama-sp 2>&1 | grep -v -i warn | tee -a "$LOG"
$PY export.py nolora > /dev/null 2>&1
$PY export.py adapters | tee -a "$LOG"

step "evaluation (validation method + xz -9e)"
$PY evaluate.py xz > /dev/null
$PY evaluate.py model lens-gpt2-bpe4k lens-llama-sp > work/eval-a.out 2>&1 & P1=$!
$PY evaluate.py model lens-gpt2-byte > work/eval-b.out 2>&1 & P2=$!
wait $P1; wait $P2
$PY evaluate.py adapters > work/eval-adapters.out 2>&1
cat work/eval-a.out work/eval-b.out work/eval-adapters.out >> "$LOG"

step "goldens and model cards"
$PY goldens.py | tee -a "$LOG"
$PY cards.py | tee -a "$LOG"
du -b -s "$ROOT/models" | tee -a "$LOG"

step "Node checks: onnxruntime-node + @huggingface/tokenizers against the goldens"
(cd "$ROOT" && npx tsc --outDir out --rootDir . --target ES2022 --module commonjs --moduleResolution node10 --strict \
   --esModuleInterop --skipLibCheck --types node --noUncheckedIndexedAccess test/unit/models.unit.test.ts &&
 node --test out/test/unit/models.unit.test.js) 2>&1 | tail -n 12 | tee -a "$LOG"
step "done"

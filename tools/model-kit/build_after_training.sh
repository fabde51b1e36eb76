# Sourced by build_all.sh once training is done: adapters, export, evaluation, goldens, cards, Node checks.
# Uses build_all.sh's variables (KIT, ROOT, PY, LOG, ADAPTER_STEPS) and its step() function.
step "train the two LoRA adapters ($ADAPTER_STEPS steps each) in parallel"
$PY train.py --name lens-gpt2-bpe4k --adapter markdown-prose --domain prose --steps "$ADAPTER_STEPS" --warmup 10 --lr 4e-3 --min-lr 4e-4 --seed 3 > work/train-adapter-prose.out 2>&1 & P1=$!
$PY train.py --name lens-gpt2-bpe4k --adapter typescript-code --domain code --steps "$ADAPTER_STEPS" --warmup 10 --lr 4e-3 --min-lr 4e-4 --seed 3 > work/train-adapter-code.out 2>&1 & P2=$!
wait $P1; wait $P2
tail -n1 logs/train-lens-gpt2-bpe4k.*.log | tee -a "$LOG"

step "ONNX export, no-LoRA fixture, PEFT adapters"
$PY export.py model lens-gpt2-bpe4k lens-gpt2-byte lens-llama-sp 2>&1 | grep -v -i warn | tee -a "$LOG"
$PY export.py nolora > /dev/null 2>&1
$PY export.py adapters | tee -a "$LOG"
$PY export.py family | tee -a "$LOG"

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
   --esModuleInterop --skipLibCheck --types node --noUncheckedIndexedAccess test/unit/models/embeddedModels.unit.test.ts &&
 node --test out/test/unit/models/embeddedModels.unit.test.js) 2>&1 | tail -n 12 | tee -a "$LOG"
step "done"

// Checks GGUF exports (export_gguf.py) against the ONNX model of the same folder:
//   ids from the project's tokenizer (@huggingface/tokenizers, prefix token prepended), the kit's rolling
//   windows of at most context-length tokens (lenskit/common.py rolling_windows), each position's log-probability
//   of the actual next token from llama.cpp (node-llama-cpp, CPU, 1 thread, F32 KV cache, no flash attention)
//   and from onnxruntime-node; max / mean |difference|, perplexity of both, llama.cpp tokens/s; optionally
//   llama.cpp's own tokenizer against the HF ids, and the cost of getting full next-token distributions.
//
//   NODE_LLAMA_CPP=/path/to/node_modules/node-llama-cpp node tools/model-kit/check_gguf.mjs \
//       --model lens-llama-sp --gguf OUT/lens-llama-sp.F32.gguf [--gguf OUT/lens-llama-sp.Q8_0.gguf]
//       [--files N (per set; default all)] [--sets code,prose] [--tokenizer | --tokenizer-only] [--dist-bench]
//       [--bench-windows N] [--json FILE]
//
// node-llama-cpp is not a dependency of the repository: install it anywhere (npm i -E node-llama-cpp@3.21.1) and
// pass its package folder with --llama DIR or NODE_LLAMA_CPP. onnxruntime-node and @huggingface/tokenizers come
// from the repository's node_modules.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const KIT = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(KIT, '../..');
const require = createRequire(path.join(ROOT, 'package.json'));

function parseArgs(argv) {
  const a = { gguf: [], sets: ['code', 'prose'], files: Infinity, tokenizer: false, distBench: false, json: null,
    llama: process.env.NODE_LLAMA_CPP || null, model: null, benchWindows: 16 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === '--gguf') a.gguf.push(v());
    else if (k === '--model') a.model = v();
    else if (k === '--llama') a.llama = v();
    else if (k === '--files') a.files = Number(v());
    else if (k === '--sets') a.sets = v().split(',');
    else if (k === '--tokenizer') a.tokenizer = true;
    else if (k === '--dist-bench') a.distBench = true;
    else if (k === '--tokenizer-only') { a.tokenizer = true; a.tokenizerOnly = true; }
    else if (k === '--json') a.json = v();
    else if (k === '--bench-windows') a.benchWindows = Number(v());
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.model || !a.llama) throw new Error('need --model and --llama DIR (or NODE_LLAMA_CPP)');
  return a;
}

const args = parseArgs(process.argv.slice(2));
const modelDir = fs.existsSync(args.model) ? path.resolve(args.model) : path.join(ROOT, 'models', args.model);
const cfg = JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8'));
const ctxLen = cfg.n_positions ?? cfg.max_position_embeddings;
const prefix = cfg._lens?.prefix_token_id ?? cfg.bos_token_id;
const nLayer = cfg.n_layer ?? cfg.num_hidden_layers;
const kvHeads = cfg.model_type === 'gpt2' ? cfg.n_head : (cfg.num_key_value_heads ?? cfg.num_attention_heads);
const headDim = cfg.model_type === 'gpt2' ? cfg.n_embd / cfg.n_head : (cfg.head_dim ?? cfg.hidden_size / cfg.num_attention_heads);
const V = cfg.vocab_size;
const out = { model: path.basename(modelDir), contextLength: ctxLen, prefix, results: [] };
const log = (...m) => console.log(...m);

// ---------------------------------------------------------------- tokenizer and texts
const { Tokenizer } = require('@huggingface/tokenizers');
const hf = new Tokenizer(JSON.parse(fs.readFileSync(path.join(modelDir, 'tokenizer.json'), 'utf8')),
  JSON.parse(fs.readFileSync(path.join(modelDir, 'tokenizer_config.json'), 'utf8')));
const encode = (t) => hf.encode(t, { add_special_tokens: false }).ids;
const texts = [];
for (const set of args.sets) {
  const lines = fs.readFileSync(path.join(KIT, 'validation', `${set}.jsonl`), 'utf8').split('\n').filter(Boolean);
  lines.slice(0, args.files).forEach((l) => { const j = JSON.parse(l); texts.push({ set, source: j.source, text: j.text }); });
}
for (const t of texts) t.ids = encode(t.text);

// lm-evaluation-harness rolling windows + make_disjoint_window, as lenskit/common.py rolling_windows
function rollingWindows(tokens, pfx, maxLen) {
  const res = [];
  if (!tokens.length) return res;
  const predLen = maxLen;
  let predicted = 0;
  const first = Math.min(maxLen, tokens.length);
  const wins = [[[pfx, ...tokens.slice(0, first - 1)], tokens.slice(0, first)]];
  predicted += first;
  while (predicted < tokens.length) {
    const wpl = Math.min(tokens.length - predicted, predLen);
    const end = predicted + wpl;
    wins.push([tokens.slice(end - maxLen - 1, end - 1), tokens.slice(end - wpl, end)]);
    predicted += wpl;
  }
  for (const [ctx0, cont] of wins) {
    const ctx = ctx0.slice(0, ctx0.length - (cont.length - 1));
    const whole = [...ctx, ...cont];
    const inp = whole.slice(-(maxLen + 1)).slice(0, -1);
    res.push({ inp, cont });
  }
  return res;
}
const windows = [];
texts.forEach((t, ti) => { for (const w of rollingWindows(t.ids, prefix, ctxLen)) windows.push({ ...w, ti }); });
const nScored = windows.reduce((s, w) => s + w.cont.length, 0);
const nInput = windows.reduce((s, w) => s + w.inp.length, 0);
log(`${out.model}: ${texts.length} files, ${nScored} scored tokens, ${windows.length} windows (${nInput} input tokens)`);

// ---------------------------------------------------------------- ONNX reference
const ort = require('onnxruntime-node');
const session = await ort.InferenceSession.create(path.join(modelDir, cfg._lens?.onnx ?? 'onnx/model.onnx'),
  { intraOpNumThreads: 1, interOpNumThreads: 1 });
async function onnxLogprobs(inp, cont) {
  const T = inp.length;
  const feeds = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(inp, BigInt), [1, T]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: T }, (_, i) => BigInt(i)), [1, T]),
  };
  for (let i = 0; i < nLayer; i++) for (const kv of ['key', 'value'])
    feeds[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
  const d = cfg.n_embd ?? cfg.hidden_size;
  for (const n of session.inputNames) if (n.startsWith('lora.'))
    feeds[n] = new ort.Tensor('float32', new Float32Array(0), n.endsWith('.A') ? [d, 0] : [0, d]);
  const r = await session.run(feeds, ['logits']);
  const L = r.logits.data;
  const lp = new Float64Array(cont.length);
  for (let j = 0; j < cont.length; j++) {
    const pos = T - cont.length + j;
    const row = L.subarray(pos * V, (pos + 1) * V);
    let m = -Infinity;
    for (let v = 0; v < V; v++) if (row[v] > m) m = row[v];
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(row[v] - m);
    lp[j] = row[cont[j]] - m - Math.log(s);
  }
  return lp;
}
let t0 = performance.now();
const ref = [];
if (!args.tokenizerOnly) for (const w of windows) ref.push(await onnxLogprobs(w.inp, w.cont));
const onnxMs = performance.now() - t0;
const sumNll = (arrs) => { let s = 0; for (const a of arrs) for (const x of a) s -= x; return s; };
const onnxNll = sumNll(ref);
out.onnx = { ms: Math.round(onnxMs), tokensPerSecond: Math.round(nInput / onnxMs * 1000), ppl: Math.exp(onnxNll / nScored), scored: nScored };
if (!args.tokenizerOnly) log(`onnx: ppl ${out.onnx.ppl.toFixed(4)} (${out.onnx.tokensPerSecond} input tokens/s, full pass per window, 1 thread)`);

// ---------------------------------------------------------------- llama.cpp
const nlc = await import(pathToFileURL(path.join(args.llama, 'dist', 'index.js')).href);
const logLines = [];
const llama = await nlc.getLlama({ gpu: false, build: 'never', logLevel: nlc.LlamaLogLevel.warn,
  logger: (level, message) => { logLines.push(`[${level}] ${message}`.trimEnd()); } });
out.llama = { buildType: llama.buildType, gpu: llama.gpu, cpuMathCores: llama.cpuMathCores };

async function openContext(ggufPath) {
  const model = await llama.loadModel({ modelPath: ggufPath });
  // node-llama-cpp keeps one cell free (it shifts the context when contextSize - 1 tokens are used), so a full
  // window of ctxLen tokens needs ctxLen + 1 cells; positions still stay below ctxLen (fresh sequence per window).
  const context = await model.createContext({ contextSize: ctxLen + 1, batchSize: ctxLen, sequences: 1, threads: 1,
    flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
  return { model, context, sequence: context.getSequence() };
}

async function evalWindow(sequence, inp, cont, mode = 'probabilities') {
  await sequence.clearHistory();
  const first = inp.length - cont.length;
  const items = inp.map((tok, i) => {
    if (mode === 'probabilities' && i >= first) return [tok, { generateNext: { probabilities: true } }];
    if (mode === 'confidence' && i >= first) return [tok, { generateNext: { confidence: true } }];
    if (mode === 'last' && i === inp.length - 1) return [tok, { generateNext: { confidence: true } }];
    return tok;
  });
  return sequence.controlledEvaluate(items);
}

for (const ggufPath of args.gguf) {
  logLines.length = 0;
  const { model, context, sequence } = await openContext(ggufPath);
  const res = { gguf: path.basename(ggufPath), bytes: fs.statSync(ggufPath).size, contextSize: context.contextSize };
  if (args.tokenizerOnly) {
    res.tokenizer = tokenizerCheck(model);
    out.results.push(res);
    await context.dispose();
    await model.dispose();
    continue;
  }
  let maxD = 0, sumD = 0, n = 0, nll = 0, worst = null, zero = 0, evalMs = 0;
  const diffs = new Float64Array(nScored);
  const perText = texts.map(() => ({ max: 0, n: 0 }));
  for (let wi = 0; wi < windows.length; wi++) {
    const w = windows[wi];
    t0 = performance.now();
    const r = await evalWindow(sequence, w.inp, w.cont);
    evalMs += performance.now() - t0;
    const first = w.inp.length - w.cont.length;
    for (let j = 0; j < w.cont.length; j++) {
      const p = r[first + j].next.probabilities.get(w.cont[j]) ?? 0;
      if (!(p > 0)) zero++;
      const lp = Math.log(p);
      const d = Math.abs(lp - ref[wi][j]);
      nll -= lp;
      if (Number.isFinite(d)) { diffs[n] = d; sumD += d; n++; }
      if (!(d <= maxD)) { maxD = d; worst = { file: texts[w.ti].source, window: wi, pos: first + j, llama: lp, onnx: ref[wi][j] }; }
      const pt = perText[w.ti]; pt.n++; if (d > pt.max) pt.max = d;
    }
  }
  // raw forward speed: the same windows with one output position each (no per-position sampling)
  const bw = windows.slice(0, Math.max(1, args.benchWindows));
  let lastMs = 0, lastTok = 0, confMs = 0, confTok = 0;
  for (const w of bw) {
    t0 = performance.now(); await evalWindow(sequence, w.inp, w.cont, 'last'); lastMs += performance.now() - t0; lastTok += w.inp.length;
    t0 = performance.now(); await evalWindow(sequence, w.inp, w.cont, 'confidence'); confMs += performance.now() - t0; confTok += w.inp.length;
  }
  Object.assign(res, {
    scored: nScored, maxAbsDiff: maxD, meanAbsDiff: sumD / n, zeroProbabilities: zero,
    ...(() => { const s = diffs.slice(0, n).sort(); const q = (f) => s[Math.min(n - 1, Math.floor(f * n))];
      return { p50AbsDiff: q(0.5), p99AbsDiff: q(0.99), p999AbsDiff: q(0.999), tokensOver1e3: s.filter((x) => x > 1e-3).length }; })(),
    ppl: Math.exp(nll / nScored), onnxPpl: out.onnx.ppl, pplDiff: Math.exp(nll / nScored) - out.onnx.ppl,
    pplRelDiff: Math.exp(nll / nScored) / out.onnx.ppl - 1,
    tokensPerSecondWithDistributions: Math.round(nInput / evalMs * 1000),
    tokensPerSecondForwardOnly: Math.round(lastTok / lastMs * 1000),
    tokensPerSecondConfidenceOnly: Math.round(confTok / confMs * 1000),
    worst, filesOver1e3: perText.filter((p) => p.max > 1e-3).length,
    llamaLog: logLines.filter((l) => !/^\[(debug|info)\]/.test(l)).slice(0, 40),
  });
  log(`${res.gguf} (${res.bytes.toLocaleString('en')} bytes): |Δ logprob| max ${maxD.toExponential(3)} mean ${(sumD / n).toExponential(3)} over ${n} tokens; ppl ${res.ppl.toFixed(4)} vs onnx ${out.onnx.ppl.toFixed(4)} (Δ ${res.pplDiff.toExponential(3)}, ${(res.pplRelDiff * 100).toFixed(4)}%)`);
  log(`  llama.cpp tokens/s (1 thread): ${res.tokensPerSecondWithDistributions} with a full distribution at every position, ${res.tokensPerSecondConfidenceOnly} with confidence only, ${res.tokensPerSecondForwardOnly} forward only (one output)`);
  log(`  |Δ| p50 ${res.p50AbsDiff.toExponential(2)} p99 ${res.p99AbsDiff.toExponential(2)} p99.9 ${res.p999AbsDiff.toExponential(2)}; tokens over 1e-3: ${res.tokensOver1e3}/${n}; files with max > 1e-3: ${res.filesOver1e3}/${texts.length}; zero probabilities: ${zero}`);
  log(`  worst: ${JSON.stringify(worst)}`);
  if (res.llamaLog.length) log(`  llama.cpp log (warn+): ${res.llamaLog.join(' | ')}`);

  if (args.distBench && ggufPath === args.gguf[0]) res.distBench = await distBench(model, context, sequence);
  if (args.tokenizer && ggufPath === args.gguf[0]) res.tokenizer = tokenizerCheck(model);
  out.results.push(res);
  await context.dispose();
  await model.dispose();
}

// ---------------------------------------------------------------- full distributions: what is fastest
async function distBench(model, context, sequence) {
  const w = windows.find((x) => x.inp.length === ctxLen) ?? windows[0];
  const inp = w.inp;
  const T = inp.length;
  const r = { tokens: T, vocab: V };
  const time = async (f, reps = 3) => { let best = Infinity; let val; for (let k = 0; k < reps; k++) { const a = performance.now(); val = await f(); best = Math.min(best, performance.now() - a); } return [best, val]; };
  const all = (opt) => async () => { await sequence.clearHistory(); return sequence.controlledEvaluate(inp.map((t) => [t, { generateNext: opt }])); };
  // A: public API, Map<token, probability> per position
  [r.mapMs] = await time(all({ probabilities: true }));
  // A': the same plus turning each Map into a Float32Array of log-probabilities indexed by token
  [r.mapToArrayMs] = await time(async () => {
    const res = await all({ probabilities: true })();
    const lps = new Array(T);
    for (let i = 0; i < T; i++) { const a = new Float32Array(V); for (const [tok, p] of res[i].next.probabilities) a[tok] = Math.log(p); lps[i] = a; }
    return lps;
  });
  // B: confidence only (probability of the sampled token, no list) at every position
  [r.confidenceMs] = await time(all({ confidence: true }));
  // C: forward pass with a single output position
  [r.forwardMs] = await time(async () => { await sequence.clearHistory(); return sequence.controlledEvaluate(inp.map((t, i) => (i === T - 1 ? [t, { generateNext: { confidence: true } }] : t))); });
  // D: internal (not public API): the addon's flat [token, prob, token, prob, ...] array, no Map
  try {
    const { LlamaSampler } = await import(pathToFileURL(path.join(args.llama, 'dist', 'evaluator', 'LlamaContext', 'LlamaSampler.js')).href);
    const actx = context._ctx;
    const sampler = new LlamaSampler(model);
    sampler.applyConfig(sequence._resolveSamplerConfig({}));
    [r.addonFlatArrayMs] = await time(async () => {
      await sequence.clearHistory();
      actx.initBatch(T);
      const idx = actx.addToBatch(sequence._sequenceId, 0, Uint32Array.from(inp), Uint32Array.from({ length: T }, (_, i) => i));
      await actx.decodeBatch();
      const outs = [];
      for (let i = 0; i < T; i++) outs.push((await actx.sampleToken(idx[i], sampler._sampler, true, false))[1]);
      actx.removeTokenCellsFromSequence(sequence._sequenceId, 0, T);
      return outs;
    });
    sampler.dispose();
    await sequence.clearHistory();
  } catch (e) { r.addonError = String(e && e.message || e); }
  for (const k of Object.keys(r)) if (k.endsWith('Ms')) r[k] = Math.round(r[k] * 10) / 10;
  log(`  distributions for ${T} positions (vocab ${V}): Map per position ${r.mapMs} ms, + Float32Array per position ${r.mapToArrayMs} ms, confidence only ${r.confidenceMs} ms, forward with one output ${r.forwardMs} ms, addon flat array (internal) ${r.addonFlatArrayMs ?? r.addonError} ms`);
  return r;
}

// ---------------------------------------------------------------- llama.cpp's own tokenizer vs the project's
function tokenizerCheck(model) {
  const edge = ['Hello world', ' leading space', 'trailing space ', 'two  spaces', 'tab\tseparated', 'line\nbreak',
    'crlf\r\nline', '\n\nblank lines\n', 'NBSP\u00a0here', 'ideographic\u3000space', 'BOM\ufeffinside', '\ufeffBOM first',
    'emoji 👍🏽 and 👩‍👩‍👧', 'CJK 漢字かなカナ 한국어', 'combining e\u0301 a\u0300', 'U+0085\u0085NEL', 'U+001C\u001cFS',
    'literal <|endoftext|> token', 'literal <s> and </s> and <unk>', 'control \u0001\u0002 chars', 'digits 1234567890',
    "it's we're they'll I'd", "IT'S WE'RE DON'T", 'x=a+b*(c-d)/e;', 'U+2581 ▁ literal', '   ', '', 'ünïcödé façade',
    '\t\t  \n  \t', 'a \t b', 'a  \u0085b', ' \u001c x', 'foo \u2028bar\u2029', '\u000b\u000c\r', 'x\u200by',
    'mongolian\u180eseparator', 'a\u2000\u200ab', 'a \u00a0 b', 'numbers ½ ² ٣ ๓ ①', 'letters ǅ ß ﬁ Ⅻ', '😀😀 🇩🇪',
    'end with spaces   ', 'end with newline\n', '  \n\n  x', 'a \ufeffb', 'x \ufeff\ufeff y', 'a \u0085 b', '\u001f\u001e \u001d'];
  const esc = (e) => JSON.stringify(e).replace(/[^\x20-\x7e]/gu, (c) => (c.codePointAt(0) > 0xffff ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  const cases = [...texts.map((t) => ({ name: t.source, text: t.text, file: true })), ...edge.map((e) => ({ name: esc(e), text: e }))];
  const r = { texts: texts.length, edgeCases: edge.length, modes: {} };
  for (const special of [false, true]) {
    let same = 0, diffTexts = 0, hfTok = 0, lcTok = 0, diffTokens = 0, sameFiles = 0;
    const examples = [];
    for (const c of cases) {
      const a = encode(c.text);
      const b = model.tokenize(c.text, special);
      hfTok += a.length; lcTok += b.length;
      let eq = a.length === b.length && a.every((x, i) => x === b[i]);
      if (eq) { same++; if (c.file) sameFiles++; continue; }
      diffTexts++;
      // count differing tokens through a simple alignment on token boundaries (character offsets)
      let i = 0; while (i < a.length && i < b.length && a[i] === b[i]) i++;
      let j = 0; while (j < a.length - i && j < b.length - i && a[a.length - 1 - j] === b[b.length - 1 - j]) j++;
      diffTokens += Math.max(a.length, b.length) - i - j;
      if (examples.length < 8) {
        const tokA = hf.encode(c.text, { add_special_tokens: false }).tokens;
        examples.push({ name: c.name.slice(0, 80), at: i, hf: a.slice(i, Math.min(a.length - j, i + 6)),
          hfTokens: tokA.slice(i, Math.min(a.length - j, i + 6)),
          llama: b.slice(i, Math.min(b.length - j, i + 6)),
          llamaTokens: b.slice(i, Math.min(b.length - j, i + 6)).map((t) => model.detokenize([t], true)) });
      }
    }
    r.modes[special ? 'specialTokens' : 'plain'] = { cases: cases.length, identical: same, identicalFiles: sameFiles, different: diffTexts, hfTokens: hfTok, llamaTokens: lcTok, differingSpanTokens: diffTokens, examples };
    log(`  tokenizer (llama.cpp tokenize(text, ${special}) vs HF ids): ${same}/${cases.length} identical (validation files ${sameFiles}/${texts.length}, edge cases ${same - sameFiles}/${edge.length}); tokens HF ${hfTok} llama.cpp ${lcTok}; differing-span tokens ${diffTokens}`);
    for (const e of examples) log(`    ${e.name} @${e.at}: HF ${JSON.stringify(e.hfTokens)} ${JSON.stringify(e.hf)} | llama.cpp ${JSON.stringify(e.llamaTokens)} ${JSON.stringify(e.llama)}`);
  }
  return r;
}

if (args.json) fs.writeFileSync(args.json, JSON.stringify(out, null, 1));

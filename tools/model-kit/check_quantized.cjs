// Scores the validation sets with a model folder's fp32 graph and its quantized variants (tools/model-kit/quantize.py)
// using the kit's validation method (README "Validation method": lm-eval rolling disjoint windows of 512, prefix token
// prepended, positions from 0 per window, rank-0 LoRA feeds), and reports per variant: token perplexity and bits per
// byte on each set, max / mean per-token |delta logprob| against fp32, tokens/s on one thread, file size, the LoRA
// check (an adapter's perplexity change on its domain, against fp32's) and the KV-cache check (two chunks with a past
// against one full pass).
//
//   node tools/model-kit/check_quantized.cjs [--model models/lens-gpt2-bpe4k] [--quant-dir DIR]
//        [--variants fp32,int8,q4] [--adapter typescript-code|none] [--out report.json] [--bench-rounds 5] [--bench-only]
//
// fp32 is MODEL/onnx/model.onnx; a variant v is QUANT_DIR/model_v.onnx (QUANT_DIR defaults to MODEL/onnx).
// One intra-op and one inter-op thread throughout; sessions run one at a time.
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');
const { Tokenizer } = require('@huggingface/tokenizers');

const ROOT = path.resolve(__dirname, '../..');
const argv = process.argv.slice(2);
function opt(name, dflt) {
  const i = argv.indexOf('--' + name);
  return i >= 0 ? argv[i + 1] : dflt;
}
const modelDir = path.resolve(ROOT, opt('model', 'models/lens-gpt2-bpe4k'));
const quantDir = path.resolve(ROOT, opt('quant-dir', path.join(modelDir, 'onnx')));
const variants = opt('variants', 'fp32,int8,q4').split(',');
const adapterName = opt('adapter', 'typescript-code');
const outFile = opt('out', null);
const benchRounds = Number(opt('bench-rounds', '5'));
const benchOnly = argv.includes('--bench-only');
const SETS = ['code', 'prose'];

const cfg = JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8'));
const CTX = cfg.n_ctx || cfg.n_positions || cfg.max_position_embeddings;
const PREFIX = cfg._lens.prefix_token_id;
const LAYERS = cfg.n_layer || cfg.num_hidden_layers;
const D = cfg.n_embd || cfg.hidden_size;
const HEADS = cfg.n_head || cfg.num_attention_heads;
const KVH = cfg.num_key_value_heads || HEADS;
const HD = D / HEADS;

function fileOf(v) {
  return v === 'fp32' ? path.join(modelDir, 'onnx', 'model.onnx') : path.join(quantDir, `model_${v}.onnx`);
}

// ------------------------------------------------------------------------------------------- validation method

/** lm-evaluation-harness get_rolling_token_windows(context_len=1) + make_disjoint_window (lenskit/common.py). */
function rollingWindows(tokens, prefix, maxLen) {
  const out = [];
  if (!tokens.length) return out;
  const predLen = maxLen;
  let predicted = 0;
  const first = Math.min(maxLen, tokens.length);
  const wins = [[[prefix, ...tokens.slice(0, first - 1)], tokens.slice(0, first)]];
  predicted += first;
  while (predicted < tokens.length) {
    const wpl = Math.min(tokens.length - predicted, predLen);
    const end = predicted + wpl;
    wins.push([tokens.slice(end - maxLen - 1, end - 1), tokens.slice(end - wpl, end)]);
    predicted += wpl;
  }
  for (let [ctx, cont] of wins) {
    ctx = ctx.slice(0, ctx.length - (cont.length - 1));
    const whole = ctx.concat(cont);
    const inp = whole.slice(-(maxLen + 1)).slice(0, -1);
    out.push({ inp, cont });
  }
  return out;
}

function emptyPast(batch = 1) {
  const f = {};
  for (let i = 0; i < LAYERS; i++)
    for (const kv of ['key', 'value']) f[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [batch, KVH, 0, HD]);
  return f;
}

function readSafetensors(file) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const out = new Map();
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    const [s, e] = v.data_offsets;
    const bytes = buf.subarray(8 + n + s, 8 + n + e);
    const data = new Float32Array(bytes.byteLength / 4);
    for (let i = 0; i < data.length; i++) data[i] = bytes.readFloatLE(i * 4);
    out.set(k, { shape: v.shape, data });
  }
  return out;
}

/** LoRA feeds: rank 0, or one PEFT adapter as A = lora_A^T [d, r], B = (alpha/r) lora_B^T [r, d] (lenskit lora_feed). */
function loraFeeds(session, adapterDir) {
  const f = {};
  if (!session.inputNames.includes('lora.0.q_proj.A')) return f;
  let w = null, r = 0, s = 0;
  if (adapterDir) {
    const ac = JSON.parse(fs.readFileSync(path.join(adapterDir, 'adapter_config.json'), 'utf8'));
    w = readSafetensors(path.join(adapterDir, 'adapter_model.safetensors'));
    r = ac.r;
    s = ac.lora_alpha / ac.r;
  }
  for (let i = 0; i < LAYERS; i++)
    for (const mod of ['q_proj', 'v_proj']) {
      const A = new Float32Array(D * r), B = new Float32Array(r * D);
      if (w) {
        const key = `base_model.model.transformer.h.${i}.attn.${mod}`;
        const la = w.get(`${key}.lora_A.weight`), lb = w.get(`${key}.lora_B.weight`); // [r, d], [d, r]
        if (!la || !lb) throw new Error(`adapter lacks ${key}`);
        for (let a = 0; a < r; a++) for (let d = 0; d < D; d++) A[d * r + a] = la.data[a * D + d];
        for (let a = 0; a < r; a++) for (let d = 0; d < D; d++) B[a * D + d] = s * lb.data[d * r + a];
      }
      f[`lora.${i}.${mod}.A`] = new ort.Tensor('float32', A, [D, r]);
      f[`lora.${i}.${mod}.B`] = new ort.Tensor('float32', B, [r, D]);
    }
  return f;
}

async function forward(session, ids, lora, past = null, pastLen = 0) {
  const T = ids.length;
  const feeds = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, T]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(pastLen + T).fill(1n), [1, pastLen + T]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: T }, (_, i) => BigInt(pastLen + i)), [1, T]),
    ...(past || emptyPast()),
    ...lora,
  };
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const out = await session.run(feeds);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { out, ms, cpuMs: (c.user + c.system) / 1000 };
}

/** float64 log-softmax of logits row r at target t. */
function logprob(logits, V, r, t) {
  const o = r * V;
  let m = -Infinity;
  for (let j = 0; j < V; j++) if (logits[o + j] > m) m = logits[o + j];
  let s = 0;
  for (let j = 0; j < V; j++) s += Math.exp(logits[o + j] - m);
  return logits[o + t] - m - Math.log(s);
}

async function scoreSet(session, texts, enc, lora) {
  let nll = 0, ntok = 0, nbytes = 0, ms = 0, fwdTokens = 0;
  const lps = [];
  for (let f = 0; f < texts.length; f++) {
    const ids = enc[f];
    for (const { inp, cont } of rollingWindows(ids, PREFIX, CTX)) {
      const { out, ms: t } = await forward(session, inp, lora);
      ms += t;
      fwdTokens += inp.length;
      const logits = out.logits.data, V = out.logits.dims[2];
      const n = cont.length, first = inp.length - n;
      for (let k = 0; k < n; k++) {
        const lp = logprob(logits, V, first + k, cont[k]);
        lps.push(lp);
        nll -= lp;
      }
    }
    ntok += ids.length;
    nbytes += Buffer.byteLength(texts[f], 'utf8');
  }
  return { tokens: ntok, bytes: nbytes, nll, tokenPerplexity: Math.exp(nll / ntok), bitsPerByte: nll / (nbytes * Math.LN2),
           forwardTokens: fwdTokens, runMs: ms, lps: Float64Array.from(lps) };
}

/** KV-cache check: logprobs of a text scored in two chunks (second with the first's present as past) vs one pass. */
async function kvCheck(session, ids, lora) {
  const inp = [PREFIX, ...ids.slice(0, -1)];
  const full = await forward(session, inp, lora);
  const V = full.out.logits.dims[2];
  const h = inp.length >> 1;
  const a = await forward(session, inp.slice(0, h), lora);
  const past = {};
  for (let i = 0; i < LAYERS; i++) for (const kv of ['key', 'value']) past[`past_key_values.${i}.${kv}`] = a.out[`present.${i}.${kv}`];
  const b = await forward(session, inp.slice(h), lora, past, h);
  let mx = 0;
  for (let r = 0; r < inp.length; r++) {
    const ref = logprob(full.out.logits.data, V, r, ids[r]);
    const got = r < h ? logprob(a.out.logits.data, V, r, ids[r]) : logprob(b.out.logits.data, V, r - h, ids[r]);
    mx = Math.max(mx, Math.abs(ref - got));
  }
  return mx;
}

async function main() {
  const tk = new Tokenizer(JSON.parse(fs.readFileSync(path.join(modelDir, 'tokenizer.json'), 'utf8')),
                           JSON.parse(fs.readFileSync(path.join(modelDir, 'tokenizer_config.json'), 'utf8')));
  const texts = {}, enc = {};
  for (const s of SETS) {
    texts[s] = fs.readFileSync(path.join(__dirname, 'validation', s + '.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).text);
    enc[s] = texts[s].map((t) => tk.encode(t, { add_special_tokens: false }).ids);
  }
  const adapterDir = adapterName && adapterName !== 'none' ? path.join(modelDir, 'adapters', adapterName) : null;
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
  const report = { model: path.relative(ROOT, modelDir), quantDir: quantDir, ctx: CTX, prefix: PREFIX, ortVersion: require('onnxruntime-node/package.json').version, variants: {} };
  let ref = null;
  const sessions = {};
  for (const v of variants) {
    const file = fileOf(v);
    const t0 = Date.now();
    const session = await ort.InferenceSession.create(file, opts);
    sessions[v] = session;
    const r = { file, bytes: fs.statSync(file).size, createMs: Date.now() - t0, sets: {} };
    report.variants[v] = r;
    if (benchOnly) continue;
    const lora0 = loraFeeds(session, null);
    for (const s of SETS) {
      const x = await scoreSet(session, texts[s], enc[s], lora0);
      r.sets[s] = { tokens: x.tokens, bytes: x.bytes, nll: x.nll, tokenPerplexity: x.tokenPerplexity, bitsPerByte: x.bitsPerByte,
                    scoringTokensPerSec: x.forwardTokens / (x.runMs / 1000) };
      r.sets[s].lps = x.lps;
    }
    if (adapterDir) {
      const x = await scoreSet(session, texts.code, enc.code, loraFeeds(session, adapterDir));
      r.lora = { adapter: adapterName, set: 'code', tokenPerplexity: x.tokenPerplexity, bitsPerByte: x.bitsPerByte,
                 changePercent: 100 * (x.tokenPerplexity / r.sets.code.tokenPerplexity - 1), lps: x.lps };
    }
    r.kvCacheMaxAbsDelta = await kvCheck(session, enc.code[0].slice(0, 200), lora0);
    if (v === 'fp32') ref = r;
    console.error(`${v}: scored (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  // Deltas against fp32.
  for (const v of benchOnly ? [] : variants) {
    const r = report.variants[v];
    for (const s of SETS) {
      const a = r.sets[s].lps, b = ref.sets[s].lps;
      let mx = 0, sum = 0;
      for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i] - b[i]); if (d > mx) mx = d; sum += d; }
      r.sets[s].maxAbsDeltaLogprob = mx;
      r.sets[s].meanAbsDeltaLogprob = sum / a.length;
      r.sets[s].perplexityRatio = r.sets[s].tokenPerplexity / ref.sets[s].tokenPerplexity;
    }
    if (r.lora) {
      const a = r.lora.lps, b = ref.lora.lps;
      let mx = 0, sum = 0;
      for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i] - b[i]); if (d > mx) mx = d; sum += d; }
      r.lora.maxAbsDeltaLogprobVsFp32 = mx;
      r.lora.meanAbsDeltaLogprobVsFp32 = sum / a.length;
      r.lora.perplexityRatioVsFp32 = r.lora.tokenPerplexity / ref.lora.tokenPerplexity;
    }
  }
  // Throughput on one thread: rounds alternate the variants; full 512-token windows of the code set, and
  // 64 token-by-token steps with the KV cache. Median of the rounds.
  const wins = [];
  for (const ids of enc.code) for (const w of rollingWindows(ids, PREFIX, CTX)) if (w.inp.length === CTX && wins.length < 8) wins.push(w.inp);
  const bench = {};
  for (const v of variants) bench[v] = { win: [], step: [], winCpu: [], stepCpu: [] };
  for (let round = 0; round < benchRounds; round++) {
    for (const v of variants) {
      const session = sessions[v], lora0 = loraFeeds(session, null);
      let ms = 0, cpu = 0, n = 0;
      for (const w of wins) { const x = await forward(session, w, lora0); ms += x.ms; cpu += x.cpuMs; n += w.length; }
      bench[v].win.push(n / (ms / 1000));
      bench[v].winCpu.push(n / (cpu / 1000));
      let past = null;
      ms = 0;
      cpu = 0;
      const steps = 64;
      for (let i = 0; i < steps; i++) {
        const { out, ms: t, cpuMs } = await forward(session, [wins[0][i]], lora0, past, i);
        ms += t;
        cpu += cpuMs;
        past = {};
        for (let l = 0; l < LAYERS; l++) for (const kv of ['key', 'value']) past[`past_key_values.${l}.${kv}`] = out[`present.${l}.${kv}`];
      }
      bench[v].step.push(steps / (ms / 1000));
      bench[v].stepCpu.push(steps / (cpu / 1000));
    }
  }
  const median = (a) => (a.length ? [...a].sort((x, y) => x - y)[a.length >> 1] : NaN);
  for (const v of variants) {
    report.variants[v].tokensPerSecFullWindow = median(bench[v].win);
    report.variants[v].tokensPerSecKvStep = median(bench[v].step);
    report.variants[v].tokensPerSecFullWindowBest = Math.max(...bench[v].win);
    report.variants[v].tokensPerSecKvStepBest = Math.max(...bench[v].step);
    report.variants[v].tokensPerCpuSecFullWindow = median(bench[v].winCpu);
    report.variants[v].tokensPerCpuSecKvStep = median(bench[v].stepCpu);
    report.variants[v].benchRounds = bench[v];
  }
  // Print.
  const f = (x, d = 4) => x.toFixed(d);
  if (benchOnly) {
    console.log('| variant | bytes | 512-window tok/s wall median / best, per CPU second | KV step tok/s wall median / best, per CPU second |');
    console.log('|---|---|---|---|');
    for (const v of variants) {
      const r = report.variants[v];
      console.log(`| ${v} | ${r.bytes.toLocaleString('en-US')} | ${Math.round(r.tokensPerSecFullWindow)} / ${Math.round(r.tokensPerSecFullWindowBest)}, ${Math.round(r.tokensPerCpuSecFullWindow)} | ${Math.round(r.tokensPerSecKvStep)} / ${Math.round(r.tokensPerSecKvStepBest)}, ${Math.round(r.tokensPerCpuSecKvStep)} |`);
    }
    if (outFile) fs.writeFileSync(outFile, JSON.stringify(report, null, 1) + '\n');
    return;
  }
  console.log(`model ${report.model}, onnxruntime-node ${report.ortVersion}, one thread`);
  console.log('| variant | bytes | code ppl | code bpb | prose ppl | prose bpb | ppl ratio code / prose | max abs dlogprob code / prose | mean abs dlogprob code / prose | tok/s 512-window wall, per CPU s | tok/s KV step wall, per CPU s |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const v of variants) {
    const r = report.variants[v], c = r.sets.code, p = r.sets.prose;
    console.log(`| ${v} | ${r.bytes.toLocaleString('en-US')} | ${f(c.tokenPerplexity, 3)} | ${f(c.bitsPerByte)} | ${f(p.tokenPerplexity, 3)} | ${f(p.bitsPerByte)} | ${f(c.perplexityRatio, 5)} / ${f(p.perplexityRatio, 5)} | ${f(c.maxAbsDeltaLogprob)} / ${f(p.maxAbsDeltaLogprob)} | ${f(c.meanAbsDeltaLogprob, 5)} / ${f(p.meanAbsDeltaLogprob, 5)} | ${Math.round(r.tokensPerSecFullWindow)}, ${Math.round(r.tokensPerCpuSecFullWindow)} | ${Math.round(r.tokensPerSecKvStep)}, ${Math.round(r.tokensPerCpuSecKvStep)} |`);
  }
  if (adapterDir) {
    console.log(`\nLoRA ${adapterName} x1 on code:`);
    for (const v of variants) {
      const l = report.variants[v].lora;
      console.log(`  ${v}: ppl ${f(l.tokenPerplexity, 3)} (${l.changePercent >= 0 ? '+' : ''}${f(l.changePercent, 3)}% vs own base), vs fp32+LoRA ratio ${f(l.perplexityRatioVsFp32, 5)}, max/mean abs dlogprob ${f(l.maxAbsDeltaLogprobVsFp32)} / ${f(l.meanAbsDeltaLogprobVsFp32, 5)}`);
    }
  }
  console.log('\nKV cache (2 chunks with past vs 1 pass, 200 tokens), max abs dlogprob: ' + variants.map((v) => `${v} ${report.variants[v].kvCacheMaxAbsDelta.toExponential(2)}`).join(', '));
  if (outFile) {
    const strip = JSON.parse(JSON.stringify(report, (k, x) => (k === 'lps' ? undefined : x)));
    fs.writeFileSync(outFile, JSON.stringify(strip, null, 1) + '\n');
  }
}

main().catch((e) => { console.error(e); process.exit(1); });

#!/usr/bin/env python3
"""Model cards (models/<name>/README.md) generated from the kit's logs and eval JSON: no hand-written figures."""
import json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lenskit import common  # noqa: E402

KIT = common.KIT
TOKENIZER_TEXT = {
    'lens-gpt2-bpe4k': 'byte-level BPE, 4096 tokens (256 byte symbols + 3839 merges + `<|endoftext|>` = id 4095); '
                       'GPT-2 ByteLevel pre-tokenizer (GPT-2 regex) and ByteLevel decoder; `add_bos_token: false`.',
    'lens-gpt2-byte': 'pure bytes: 256 byte-level symbols (token id = byte value) + `<|endoftext|>` = 256; ByteLevel with '
                      '`use_regex: false`, no merges.',
    'lens-llama-sp': 'SentencePiece-style BPE as Llama 2 ships it: normalizer Prepend("▁") + Replace(" " → "▁"), no '
                     'pre-tokenizer, `byte_fallback: true` with `<0x00>`…`<0xFF>` (ids 3–258), `<unk>`=0, `<s>`=1, '
                     '`</s>`=2, 4096 tokens; decoder Replace/ByteFallback/Fuse/Strip; `add_bos_token: true`.',
}
TITLE = {
    'lens-gpt2-bpe4k': 'the default model of Perplexity Lens',
    'lens-gpt2-byte': 'the byte-level twin of the default model (same architecture and corpus, byte vocabulary)',
    'lens-llama-sp': 'a small Llama-architecture model with a SentencePiece-style tokenizer',
}


def load(p):
    return json.load(open(p, encoding='utf-8'))


def fmt(x, d=4):
    return f'{x:.{d}f}'


def mb(n):
    return f'{n / 1e6:.2f} MB'


def arch_rows(cfg, n_params):
    if cfg['model_type'] == 'gpt2':
        return [('architecture', 'GPT-2: learned positions, pre-LayerNorm, GELU (tanh) MLP, tied input/output embeddings, '
                 'separate `q_proj`/`k_proj`/`v_proj`/`out_proj` Linear modules'),
                ('layers / heads / width', f"{cfg['n_layer']} / {cfg['n_head']} / {cfg['n_embd']} (MLP {cfg['n_inner']})"),
                ('context (`n_positions`)', cfg['n_positions']), ('vocabulary', cfg['vocab_size']),
                ('parameters', f'{n_params:,}')]
    return [('architecture', 'Llama: RoPE, RMSNorm, SwiGLU MLP, grouped-query attention, no biases, tied embeddings'),
            ('layers / heads / kv heads / head dim / width',
             f"{cfg['num_hidden_layers']} / {cfg['num_attention_heads']} / {cfg['num_key_value_heads']} / {cfg['head_dim']} / {cfg['hidden_size']} (MLP {cfg['intermediate_size']})"),
            ('context (`max_position_embeddings`)', cfg['max_position_embeddings']), ('`rope_theta`', cfg['rope_theta']),
            ('`rms_norm_eps`', cfg['rms_norm_eps']), ('vocabulary', cfg['vocab_size']), ('parameters', f'{n_params:,}')]


def io_section(name, cfg, exp):
    L = cfg.get('n_layer') or cfg['num_hidden_layers']
    kvh = cfg.get('num_key_value_heads') or cfg['n_head']
    hd = cfg.get('head_dim') or cfg['n_embd'] // cfg['n_head']
    s = ['## ONNX interface (`onnx/model.onnx`)', '',
         f"fp32, opset {exp['opset']}, exported with `torch.onnx.export` (torch 1.13) and `do_constant_folding=False`, so weight "
         'initializers keep their PyTorch module names. Dynamic batch, sequence, past and (for LoRA) rank axes; '
         '`past_sequence_length = 0` (empty past tensors) is accepted. The causal mask is built from shapes and combined '
         'with `attention_mask` using `masked_fill(finfo(float32).min)`.', '',
         '| name | type | shape |', '|---|---|---|',
         '| `input_ids` | int64 | [batch, sequence] |',
         '| `attention_mask` | int64 | [batch, past + sequence] (1 = attend) |',
         '| `position_ids` | int64 | [batch, sequence] |',
         f'| `past_key_values.{{i}}.key`, `.value` (i = 0…{L - 1}) | float32 | [batch, {kvh}, past, {hd}] |']
    if name == common.DEFAULT:
        s.append(f"| `lora.{{i}}.q_proj.A`, `lora.{{i}}.v_proj.A` (i = 0…{L - 1}) | float32 | [{cfg['n_embd']}, lora_rank] |")
        s.append(f"| `lora.{{i}}.q_proj.B`, `lora.{{i}}.v_proj.B` | float32 | [lora_rank, {cfg['n_embd']}] |")
    s += [f"| **output** `logits` | float32 | [batch, sequence, {cfg['vocab_size']}] |",
          f'| **output** `present.{{i}}.key`, `.value` | float32 | [batch, {kvh}, past + sequence, {hd}] |', '']
    if name == common.DEFAULT:
        s += ['### LoRA inputs', '',
              'For every layer i the graph computes `q = x·W_qᵀ + b_q + (x·A_q)·B_q` and `v = x·W_vᵀ + b_v + (x·A_v)·B_v`, '
              'where x is the output of `ln_1`. A PEFT adapter (`lora_A.weight` [r, in], `lora_B.weight` [out, r]) is fed as '
              '`A = lora_Aᵀ` and `B = (lora_alpha / r · scale) · lora_Bᵀ`; several adapters are concatenated along the rank '
              'axis. All-zero inputs, or rank-0 inputs (`[d, 0]` and `[0, d]`), reproduce the base model exactly (checked '
              'bit for bit against the plain export in `test/fixtures/lens-gpt2-bpe4k-nolora/`). All eight LoRA inputs '
              'must be fed (rank 0 for none).', '']
    return s


def schedule(tr):
    if tr.get('schedule'):
        return tr['schedule']
    wd = 'weight decay 0, LoRA A/B only' if tr.get('adapter') else 'weight decay 0.1'
    return (f"AdamW, lr {tr['lr']:g} -> {tr['minLr']:g} (linear warm-up {tr['warmup']} steps, cosine), {wd}, "
            f"grad clip 1.0, seed {tr['seed']}")


def curve_rows(curve, every):
    rows = ['| step | tokens | smoothed train loss | elapsed |', '|---|---|---|---|']
    pick = [c for c in curve if c['step'] % every == 0] + [curve[-1]]
    seen = set()
    for c in pick:
        if c['step'] in seen:
            continue
        seen.add(c['step'])
        rows.append(f"| {c['step']} | {c['tokens']:,} | {c['smoothed']:.3f} | {c['seconds']:.0f} s |")
    return rows


def card(name):
    d = common.model_dir(name)
    cfg = load(os.path.join(d, 'config.json'))
    ev = load(os.path.join(d, 'eval.json'))
    tr = load(os.path.join(KIT, 'logs', f'train-{name}.json'))
    exp = load(os.path.join(KIT, 'logs', f'export-{name}.json'))
    man = load(os.path.join(KIT, 'corpus-manifest.json'))
    xz = load(os.path.join(KIT, 'logs', 'xz.json'))
    pk = [p for p in man['packages'] if not p.get('excluded')]
    tot = man['totals']
    s = [f'# {name}', '', f'{name} is {TITLE[name]}: a small causal language model trained from scratch by the Perplexity '
         'Lens model kit (`tools/model-kit`, `npm run models`) on permissively licensed text from npm packages. It exists to '
         'show per-token log-probabilities and perplexity offline; it is tiny and not meant to generate useful text.', '',
         '| | |', '|---|---|']
    s += [f'| {k} | {v} |' for k, v in arch_rows(cfg, tr['parameters'])]
    s += [f'| tokenizer | {TOKENIZER_TEXT[name]} |',
          f"| prefix token (prepended when scoring) | id {ev['method']['prefixTokenId']} (`{ev['method']['prefixToken']}`) |",
          f"| `onnx/model.onnx` | {mb(os.path.getsize(os.path.join(d, 'onnx', 'model.onnx')))} (fp32) |", '']
    s += ['## Training', '',
          f"Corpus: {tot['trainFiles']['code']:,} code files ({mb(tot['trainBytes']['code'])}) and {tot['trainFiles']['prose']:,} "
          f"Markdown files ({mb(tot['trainBytes']['prose'])}) from {len(pk)} npm packages under MIT, Apache-2.0, BSD or "
          'ISC-style licenses, listed with versions and licenses in `tools/model-kit/corpus-manifest.json`. Files were '
          'de-duplicated by content and split train/validation by file (seed '
          f"{man['seed']}). Each file is prefixed with the prefix token and the token stream is cut into non-overlapping "
          f"windows of {tr['seq'] + 1} tokens, read in a seeded random order.", '',
          '| | |', '|---|---|',
          f"| steps × batch × sequence | {' + '.join(str(ph['steps']) for ph in tr.get('phases', [tr]))} × {tr['batch']} × {tr['seq']} |",
          f"| training tokens | {tr['tokens']:,} (≈ {mb(tr['textBytesSeen'])} of text, {tr['bytesPerTrainToken']:.2f} bytes/token) |",
          f"| optimizer | {schedule(tr)} |",
          f"| time | {tr['seconds'] / 60:.1f} min on {tr['threads']} CPU thread ({tr['tokensPerSecond']:.0f} tokens/s, torch {tr['torch']}) |",
          f"| final training loss | {tr['finalTrainLoss']:.3f} nats/token |", '']
    s += curve_rows(tr['curve'], max(10, (tr['steps'] // 8) // 10 * 10)) + ['']
    s += ['## Validation', '',
          'Held-out files (never trained on): `tools/model-kit/validation/code.jsonl` (.ts/.js/.d.ts) and '
          '`tools/model-kit/validation/prose.jsonl` (.md).', '',
          '| | code | prose |', '|---|---|---|']
    c, p = ev['code'], ev['prose']
    rows = [('files', c['files'], p['files']), ('UTF-8 bytes', f"{c['bytes']:,}", f"{p['bytes']:,}"),
            ('tokens', f"{c['tokens']:,}", f"{p['tokens']:,}"),
            ('validation loss (nats/token)', fmt(c['validationLoss']), fmt(p['validationLoss'])),
            ('token perplexity', fmt(c['tokenPerplexity'], 3), fmt(p['tokenPerplexity'], 3)),
            ('**bits per byte**', f"**{fmt(c['bitsPerByte'])}**", f"**{fmt(p['bitsPerByte'])}**"),
            ('`xz -9e`, each file separately, summed (bits per byte)', fmt(c['xzBitsPerByte']), fmt(p['xzBitsPerByte'])),
            ('`xz -9e`, files concatenated (bits per byte)', fmt(c['xzBitsPerByteConcatenated']), fmt(p['xzBitsPerByteConcatenated'])),
            ('model ÷ xz (per file)', fmt(c['ratioToXz'], 3), fmt(p['ratioToXz'], 3))]
    s += [f'| {a} | {b} | {cc} |' for a, b, cc in rows]
    s += ['', f"Method (the TypeScript engine reproduces it within 1e-3): {ev['method']['description']} Context length "
          f"{ev['method']['maxSeqLen']}, prefix token id {ev['method']['prefixTokenId']}, tokenization with "
          f"`add_special_tokens: false`; {ev['method']['precision']}. xz: `{xz['command']}` on the same UTF-8 files.", '']
    if name == common.DEFAULT:
        ad = load(os.path.join(d, 'adapters', 'eval.json'))
        s += ['## LoRA adapters (`adapters/`)', '',
              'PEFT format (`adapter_config.json` + `adapter_model.safetensors`, keys '
              '`base_model.model.transformer.h.{i}.attn.{q_proj,v_proj}.lora_{A,B}.weight`), trained on one domain of the '
              'training split each with the base weights frozen. Token perplexity with the same validation method:', '',
              '| | code | prose |', '|---|---|---|']
        for r in ad['rows']:
            label = 'base (no adapter)' if r['adapter'] is None else f"`{r['adapter']}` (scale 1)"
            cells = []
            for k in ('code', 'prose'):
                x = r[k]
                extra = '' if r['adapter'] is None else f" ({x['perplexityChangePercent']:+.1f}%)"
                cells.append(f"{x['tokenPerplexity']:.3f}{extra}, {x['bitsPerByte']:.4f} bpb")
            s.append(f"| {label} | {cells[0]} | {cells[1]} |")
        s.append('')
        for a in common.ADAPTERS:
            t = load(os.path.join(KIT, 'logs', f'train-{name}.{a}.json'))
            conf = load(os.path.join(d, 'adapters', a, 'adapter_config.json'))
            s.append(f"- `{a}`: {conf['description']}; {t['trainableParameters']:,} trainable parameters, "
                     f"{t['seconds'] / 60:.1f} min, final training loss {t['finalTrainLoss']:.3f}.")
        s.append('')
    s += io_section(name, cfg, exp)
    s += ['## Files', '', '| file | bytes |', '|---|---|']
    for root, _, files in sorted(os.walk(d)):
        for f in sorted(files):
            if f == 'README.md':
                continue
            p = os.path.join(root, f)
            s.append(f'| `{os.path.relpath(p, d)}` | {os.path.getsize(p):,} |')
    s += ['', '## Reproduce', '',
          '`bash tools/model-kit/setup.sh` (Debian 12: python3-torch, python3-onnx, libopenblas0-pthread, python3-regex), '
          'then `npm run models` (= `bash tools/model-kit/build_all.sh`): corpus → tokenizers → training → export → '
          'adapters → goldens → cards, fixed seeds, logs in `tools/model-kit/logs/`.', '',
          '## License', '', 'Weights and tokenizer: MIT, like the rest of Perplexity Lens. Training text: files of the npm '
          'packages listed in the corpus manifest, each under its own permissive license.', '']
    with open(os.path.join(d, 'README.md'), 'w', encoding='utf-8', newline='\n') as fh:
        fh.write('\n'.join(s))
    print('card', name)


def dir_bytes(d):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)


def kit_figures():
    """The figures section of tools/model-kit/README.md, from the same logs."""
    xz = load(os.path.join(KIT, 'logs', 'xz.json'))
    s = ['## Figures (generated by `cards.py` from `logs/` and `models/*/eval.json`)', '',
         '| model | parameters | training tokens (text) | time | tokens/s | code: loss / ppl / bpb | prose: loss / ppl / bpb | bpb ÷ xz (code, prose) |',
         '|---|---|---|---|---|---|---|---|']
    for name in common.MODELS:
        ev = load(os.path.join(common.model_dir(name), 'eval.json'))
        tr = load(os.path.join(KIT, 'logs', f'train-{name}.json'))
        c, p = ev['code'], ev['prose']
        s.append(f"| `{name}` | {tr['parameters']:,} | {tr['tokens']:,} ({mb(tr['textBytesSeen'])}) | {tr['seconds'] / 60:.1f} min | "
                 f"{tr['tokensPerSecond']:.0f} | {c['validationLoss']:.4f} / {c['tokenPerplexity']:.3f} / {c['bitsPerByte']:.4f} | "
                 f"{p['validationLoss']:.4f} / {p['tokenPerplexity']:.3f} / {p['bitsPerByte']:.4f} | {c['ratioToXz']:.3f}, {p['ratioToXz']:.3f} |")
    s += ['', f"xz -9e bits per byte on the same files: code {xz['code']['xzBitsPerByte']:.4f} per file "
          f"({xz['code']['xzBitsPerByteConcatenated']:.4f} concatenated), prose {xz['prose']['xzBitsPerByte']:.4f} per file "
          f"({xz['prose']['xzBitsPerByteConcatenated']:.4f} concatenated). Validation: code {xz['code']['files']} files / "
          f"{xz['code']['bytes']:,} bytes, prose {xz['prose']['files']} files / {xz['prose']['bytes']:,} bytes.", '']
    ad = load(os.path.join(common.model_dir(common.DEFAULT), 'adapters', 'eval.json'))
    s += ['Adapters of `lens-gpt2-bpe4k` (token perplexity, same method):', '', '| | code | prose |', '|---|---|---|']
    for r in ad['rows']:
        label = 'base' if r['adapter'] is None else f"`{r['adapter']}` ×1"
        cells = [f"{r[k]['tokenPerplexity']:.3f}" + ('' if r['adapter'] is None else f" ({r[k]['perplexityChangePercent']:+.1f}%)") for k in ('code', 'prose')]
        s.append(f'| {label} | {cells[0]} | {cells[1]} |')
    s += ['', '| path | bytes |', '|---|---|']
    total = 0
    for name in common.MODELS:
        d = common.model_dir(name)
        b = dir_bytes(d)
        total += b
        s.append(f"| `models/{name}/` (onnx {os.path.getsize(os.path.join(d, 'onnx', 'model.onnx')):,}) | {b:,} |")
    s.append(f'| **all of `models/`** | **{total:,}** ({total / 1e6:.2f} MB) |')
    fx = os.path.join(common.ROOT, 'test', 'fixtures', 'lens-gpt2-bpe4k-nolora')
    if os.path.isdir(fx):
        s.append(f'| `test/fixtures/lens-gpt2-bpe4k-nolora/` | {dir_bytes(fx):,} |')
    s.append('')
    return '\n'.join(s)


def update_kit_readme():
    p = os.path.join(KIT, 'README.md')
    text = open(p, encoding='utf-8').read()
    a, b = '<!-- figures:begin -->', '<!-- figures:end -->'
    i, j = text.index(a) + len(a), text.index(b)
    with open(p, 'w', encoding='utf-8', newline='\n') as fh:
        fh.write(text[:i] + '\n' + kit_figures() + text[j:])


if __name__ == '__main__':
    for n in sys.argv[1:] or common.MODELS:
        card(n)
    if not sys.argv[1:]:
        update_kit_readme()

#!/usr/bin/env python3
"""Validation figures (the method the TypeScript engine reproduces) and the xz -9e baseline.

  evaluate.py xz                   -> logs/xz.json
  evaluate.py model NAME...        -> models/NAME/eval.json (+ logs/eval-NAME.json)
  evaluate.py adapters             -> models/lens-gpt2-bpe4k/adapters/eval.json (2x2 table + base)
"""
import json, lzma, os, subprocess, sys, time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lenskit import common  # noqa: E402

KINDS = ('code', 'prose')


def xz_bytes(data):
    return len(subprocess.run(['xz', '-9e', '--format=xz', '-c'], input=data, stdout=subprocess.PIPE, check=True).stdout)


def cmd_xz():
    out = {'command': 'xz -9e --format=xz -c (xz-utils ' + subprocess.run(['xz', '--version'], stdout=subprocess.PIPE, text=True).stdout.split('\n')[0].split()[-1] + ')'}
    for kind in KINDS:
        texts = common.validation_texts(kind)
        raw = [t.encode('utf-8') for t in texts]
        per_file = sum(xz_bytes(r) for r in raw)
        total = sum(len(r) for r in raw)
        concat = xz_bytes(b''.join(raw))
        out[kind] = {'files': len(raw), 'bytes': total, 'xzBytesPerFileSum': per_file, 'xzBytesConcatenated': concat,
                     'xzBitsPerByte': 8 * per_file / total, 'xzBitsPerByteConcatenated': 8 * concat / total}
    json.dump(out, open(os.path.join(common.KIT, 'logs', 'xz.json'), 'w'), indent=1)
    print(json.dumps(out))
    return out


def load_xz():
    p = os.path.join(common.KIT, 'logs', 'xz.json')
    return json.load(open(p)) if os.path.exists(p) else cmd_xz()


def method(name, cfg):
    m = dict(common.METHOD)
    ctx = common.models.context_length(cfg)
    m.update({'maxSeqLen': ctx, 'contextLen': 1, 'prefixTokenId': cfg['bos_token_id'],
              'prefixToken': '<s>' if cfg['model_type'] == 'llama' else '<|endoftext|>',
              'addSpecialTokens': False, 'validationFiles': {k: f'tools/model-kit/validation/{k}.jsonl' for k in KINDS}})
    return m


def cmd_model(name):
    torch.set_num_threads(1)
    model, cfg = common.load_model(name)
    enc = common.load_tokenizer(name)
    xz = load_xz()
    ctx = common.models.context_length(cfg)
    res = {'model': name, 'method': method(name, cfg)}
    for kind in KINDS:
        t = time.time()
        r = common.evaluate_texts(model, enc, cfg['bos_token_id'], ctx, common.validation_texts(kind))
        r['xzBitsPerByte'] = xz[kind]['xzBitsPerByte']
        r['xzBitsPerByteConcatenated'] = xz[kind]['xzBitsPerByteConcatenated']
        r['ratioToXz'] = r['bitsPerByte'] / r['xzBitsPerByte']
        r['seconds'] = round(time.time() - t, 1)
        res[kind] = r
        print(name, kind, json.dumps(r), flush=True)
    with open(os.path.join(common.model_dir(name), 'eval.json'), 'w', newline='\n') as fh:
        json.dump(res, fh, indent=1)
        fh.write('\n')
    json.dump(res, open(os.path.join(common.KIT, 'logs', f'eval-{name}.json'), 'w'), indent=1)


def cmd_adapters():
    torch.set_num_threads(1)
    name = common.DEFAULT
    model, cfg = common.load_model(name)
    enc = common.load_tokenizer(name)
    ctx = common.models.context_length(cfg)
    base = json.load(open(os.path.join(common.model_dir(name), 'eval.json')))
    rows = [{'adapter': None, 'scale': 0, **{k: {kk: base[k][kk] for kk in ('tokens', 'nll', 'tokenPerplexity', 'bitsPerByte')} for k in KINDS}}]
    for ad in common.ADAPTERS:
        r, alpha, layers = common.load_adapter(name, ad)
        lora = common.lora_feed(cfg['n_layer'], cfg['n_embd'], [(r, alpha, layers, 1.0)])
        row = {'adapter': ad, 'scale': 1.0, 'domain': common.ADAPTERS[ad]['domain']}
        for kind in KINDS:
            e = common.evaluate_texts(model, enc, cfg['bos_token_id'], ctx, common.validation_texts(kind), lora=lora)
            row[kind] = {kk: e[kk] for kk in ('tokens', 'nll', 'tokenPerplexity', 'bitsPerByte')}
            row[kind]['perplexityChangePercent'] = 100 * (e['tokenPerplexity'] / base[kind]['tokenPerplexity'] - 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = {'model': name, 'method': base['method'], 'note': 'each adapter alone at scale 1 (alpha/r folded in)', 'rows': rows}
    with open(os.path.join(common.model_dir(name), 'adapters', 'eval.json'), 'w', newline='\n') as fh:
        json.dump(out, fh, indent=1)
        fh.write('\n')


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'xz':
        cmd_xz()
    elif cmd == 'model':
        for n in sys.argv[2:]:
            cmd_model(n)
    elif cmd == 'adapters':
        cmd_adapters()

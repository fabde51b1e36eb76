"""Shared helpers: paths, checkpoints, the validation method, LoRA tensors, safetensors."""
import json
import math
import os
import struct

import numpy as np
import torch

from . import models, tok

KIT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(KIT))
MODELS = ['lens-gpt2-bpe4k', 'lens-gpt2-byte', 'lens-llama-sp']
DEFAULT = 'lens-gpt2-bpe4k'
ADAPTERS = {
    'markdown-prose': {'domain': 'prose', 'description': 'Markdown prose: READMEs, changelogs and documentation pages (.md) of npm packages'},
    'typescript-code': {'domain': 'code', 'description': 'TypeScript and JavaScript source code (.ts, .d.ts, .js) of npm packages'},
}


def model_dir(name):
    return os.path.join(ROOT, 'models', name)


def load_model(name, dtype=torch.float32):
    ck = torch.load(os.path.join(KIT, 'work', 'ckpt', name + '.pt'))
    m = models.build(ck['config'])
    m.load_state_dict(ck['state_dict'])
    m.eval()
    return m.to(dtype), ck['config']


def load_tokenizer(name):
    return tok.load(os.path.join(model_dir(name), 'tokenizer.json'))


def load_adapter(name, adapter):
    """Returns (r, alpha, layers) with layers[i][mod] = (A [r, in], B [out, r]) in PEFT layout."""
    ck = torch.load(os.path.join(KIT, 'work', 'ckpt', f'{name}.{adapter}.pt'))
    lo = ck['lora']
    return lo['r'], lo['alpha'], lo['layers']


def lora_feed(n_layer, d, adapters, dtype=torch.float32):
    """adapters: list of (r, alpha, layers, scale). Returns the graph's LoRA inputs per layer (qa, qb, va, vb):
    A [d, R] and B [R, d], adapters concatenated along the rank axis, alpha/r*scale folded into B."""
    out = []
    for i in range(n_layer):
        t = []
        for mod in ('q_proj', 'v_proj'):
            As, Bs = [], []
            for r, alpha, layers, scale in adapters:
                A, B = layers[i][mod]
                As.append(A.t().to(dtype))
                Bs.append((B.t() * (alpha / r * scale)).to(dtype))
            if As:
                t += [torch.cat(As, dim=1), torch.cat(Bs, dim=0)]
            else:
                t += [torch.zeros(d, 0, dtype=dtype), torch.zeros(0, d, dtype=dtype)]
        out.append(tuple(t))
    return out


# ---------------------------------------------------------------- validation method

METHOD = {
    'description': 'Per validation file: tokenize the whole text with no special tokens, prepend the prefix token, '
                   "score with lm-evaluation-harness's loglikelihood_rolling disjoint windows "
                   '(get_rolling_token_windows with max_seq_len = context length, context_len = 1, then '
                   'make_disjoint_window); each window is one forward pass with positions starting at 0. '
                   'Sum NLL (nats) over all files; tokenPerplexity = exp(sum NLL / sum tokens), '
                   'bitsPerByte = sum NLL / (sum UTF-8 bytes * ln 2). The prefix token itself is not scored.',
    'windows': 'lm-evaluation-harness get_rolling_token_windows(context_len=1) + make_disjoint_window',
    'precision': 'float32 forward, float64 log-softmax and accumulation',
}


def rolling_windows(token_list, prefix_token, max_seq_len, context_len=1):
    """lm-evaluation-harness utils.get_rolling_token_windows followed by make_disjoint_window.
    Yields (input_tokens, continuation): the model is run on input_tokens and its last len(continuation)
    predictions are scored against continuation."""
    if not token_list:
        return
    pred_len = max_seq_len - context_len + 1
    predicted = 0
    first_seq_len = min(max_seq_len, len(token_list))
    windows = [([prefix_token] + token_list[:first_seq_len - 1], token_list[:first_seq_len])]
    predicted += first_seq_len
    while predicted < len(token_list):
        window_pred_len = min(len(token_list) - predicted, pred_len)
        window_end = predicted + window_pred_len
        windows.append((token_list[window_end - max_seq_len - 1:window_end - 1], token_list[window_end - window_pred_len:window_end]))
        predicted += window_pred_len
    for ctx, cont in windows:
        ctx = ctx[:len(ctx) - (len(cont) - 1)]  # make_disjoint_window
        whole = ctx + cont
        inp = whole[-(max_seq_len + 1):][:-1]
        yield inp, cont


@torch.no_grad()
def score_tokens(model, inp, cont, lora=None):
    """NLL (nats, float64) of cont given the window input inp (inp ends with the token before cont[-1])."""
    x = torch.tensor([inp], dtype=torch.long)
    logits, _ = model(x, lora=lora)
    lp = torch.log_softmax(logits[0].double(), dim=-1)
    n = len(cont)
    sel = lp[-n:]
    tgt = torch.tensor(cont, dtype=torch.long)
    return -sel.gather(1, tgt.view(-1, 1)).sum().item()


def evaluate_texts(model, enc, prefix, ctx_len, texts, lora=None):
    nll = 0.0
    ntok = 0
    nbytes = 0
    for text in texts:
        ids = enc.encode(text)
        for inp, cont in rolling_windows(ids, prefix, ctx_len):
            nll += score_tokens(model, inp, cont, lora)
        ntok += len(ids)
        nbytes += len(text.encode('utf-8'))
    return {'files': len(texts), 'tokens': ntok, 'bytes': nbytes, 'nll': nll,
            'validationLoss': nll / ntok, 'tokenPerplexity': math.exp(nll / ntok),
            'bitsPerByte': nll / (nbytes * math.log(2))}


def validation_texts(kind):
    return [json.loads(l)['text'] for l in open(os.path.join(KIT, 'validation', kind + '.jsonl'), encoding='utf-8')]


# ---------------------------------------------------------------- safetensors


def write_safetensors(path, tensors, metadata=None):
    header = {}
    blobs = []
    off = 0
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k].detach().cpu().numpy().astype('<f4'))
        b = a.tobytes()
        header[k] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header['__metadata__'] = metadata
    h = json.dumps(header, separators=(',', ':')).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as fh:
        fh.write(struct.pack('<Q', len(h)))
        fh.write(h)
        for b in blobs:
            fh.write(b)


def read_safetensors(path):
    data = open(path, 'rb').read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        s, e = v['data_offsets']
        out[k] = torch.from_numpy(np.frombuffer(data[8 + n + s:8 + n + e], dtype='<f4').reshape(v['shape']).copy())
    return out

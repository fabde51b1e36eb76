#!/usr/bin/env python3
"""Export a model folder of the kit (config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx) to GGUF v3
files for llama.cpp: <out>/<name>.F32.gguf and <out>/<name>.Q8_0.gguf.

  /usr/bin/python3 tools/model-kit/export_gguf.py --out DIR MODEL [MODEL ...]   (MODEL: a folder, or a name under models/)
      [--types F32,Q8_0] [--spm-scores rank|flat]

Weights come from the ONNX initializers (PyTorch module names, nn.Linear layout [out, in]); nothing is hard-coded
about sizes, so a retrained model of the same architecture exports the same way. See README.md ("GGUF export") for
the tensor and metadata mapping and the measured agreement with the ONNX models.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lenskit import gguf  # noqa: E402

KIT = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(KIT))
TYPES = {'F32': (gguf.F32, gguf.FILE_ALL_F32), 'Q8_0': (gguf.Q8_0, gguf.FILE_MOSTLY_Q8_0)}


# ---------------------------------------------------------------- weights from ONNX

class Weights:
    """ONNX initializers by PyTorch name. torch.onnx.export merges identical initializers (e.g. untrained LayerNorm
    weights), so a missing name is looked up through the graph node of its module (/h.1/ln_1/..., /layers.0/...)."""

    def __init__(self, path):
        self.model = onnx.load(path)
        self.init = {i.name: i for i in self.model.graph.initializer}
        self.used = set()

    def _scope(self, name):
        parts = name.split('.')[1:-1]  # drop the root module (transformer / model) and the parameter name
        out = []
        for p in parts:
            if p.isdigit() and out:
                out[-1] += '.' + p
            else:
                out.append(p)
        return '/' + '/'.join(out) + '/'

    def get(self, name, shape=None):
        if name in self.init:
            a = numpy_helper.to_array(self.init[name])
        else:
            scope, param = self._scope(name), name.rsplit('.', 1)[1]
            found = set()
            for n in self.model.graph.node:
                if not n.name.startswith(scope):
                    continue
                ins = list(n.input)
                if n.op_type == 'LayerNormalization':
                    ins = ins[1:2] if param == 'weight' else ins[2:3]
                for x in ins:
                    if x in self.init and (shape is None or tuple(self.init[x].dims) == tuple(shape)):
                        found.add(x)
            if len(found) != 1:
                raise KeyError(f'initializer {name} not found (candidates through {scope}: {sorted(found)})')
            a = numpy_helper.to_array(self.init[found.pop()])
        if shape is not None and tuple(a.shape) != tuple(shape):
            raise ValueError(f'{name}: shape {a.shape}, expected {tuple(shape)}')
        if a.dtype != np.float32:
            a = a.astype(np.float32)
        self.used.add(name)
        return a

    def has(self, name):
        return name in self.init


# ---------------------------------------------------------------- architectures

def permute_rope(w, n_head):
    """HF rotate_half layout (pairs (i, i + d/2) in each head) -> llama.cpp's normal RoPE layout (pairs (2i, 2i+1)):
    the permutation convert_hf_to_gguf.py applies to q_proj / k_proj (k with the kv-head count)."""
    out = w.shape[0]
    hd = out // n_head
    return w.reshape(n_head, 2, hd // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gpt2_model(cfg, W):
    d, L, H = cfg['n_embd'], cfg['n_layer'], cfg['n_head']
    ff = cfg.get('n_inner') or 4 * d
    ctx = cfg.get('n_positions') or cfg['n_ctx']
    V = cfg['vocab_size']
    act = cfg.get('activation_function', 'gelu_new')
    if act not in ('gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'):
        raise ValueError(f'llama.cpp gpt2 uses the tanh GELU; this model has {act}')
    if W.has('transformer.h.0.attn.c_attn.weight'):
        raise ValueError('fused HF Conv1D c_attn layout is not the kit layout (separate q/k/v Linear)')
    meta = [('context_length', gguf.UINT32, ctx), ('embedding_length', gguf.UINT32, d),
            ('feed_forward_length', gguf.UINT32, ff), ('block_count', gguf.UINT32, L),
            ('attention.head_count', gguf.UINT32, H), ('attention.head_count_kv', gguf.UINT32, H),
            ('attention.layer_norm_epsilon', gguf.FLOAT32, cfg['layer_norm_epsilon']),
            ('vocab_size', gguf.UINT32, V)]
    t = [('token_embd.weight', W.get('transformer.wte.weight', (V, d))),
         ('position_embd.weight', W.get('transformer.wpe.weight', (ctx, d)))]
    for i in range(L):
        p = f'transformer.h.{i}.'
        b = f'blk.{i}.'
        qkv_w = np.concatenate([W.get(p + f'attn.{m}.weight', (d, d)) for m in ('q_proj', 'k_proj', 'v_proj')], 0)
        qkv_b = np.concatenate([W.get(p + f'attn.{m}.bias', (d,)) for m in ('q_proj', 'k_proj', 'v_proj')], 0)
        t += [(b + 'attn_norm.weight', W.get(p + 'ln_1.weight', (d,))),
              (b + 'attn_norm.bias', W.get(p + 'ln_1.bias', (d,))),
              (b + 'attn_qkv.weight', qkv_w), (b + 'attn_qkv.bias', qkv_b),
              (b + 'attn_output.weight', W.get(p + 'attn.out_proj.weight', (d, d))),
              (b + 'attn_output.bias', W.get(p + 'attn.out_proj.bias', (d,))),
              (b + 'ffn_norm.weight', W.get(p + 'ln_2.weight', (d,))),
              (b + 'ffn_norm.bias', W.get(p + 'ln_2.bias', (d,))),
              (b + 'ffn_up.weight', W.get(p + 'mlp.c_fc.weight', (ff, d))),
              (b + 'ffn_up.bias', W.get(p + 'mlp.c_fc.bias', (ff,))),
              (b + 'ffn_down.weight', W.get(p + 'mlp.c_proj.weight', (d, ff))),
              (b + 'ffn_down.bias', W.get(p + 'mlp.c_proj.bias', (d,)))]
    t += [('output_norm.weight', W.get('transformer.ln_f.weight', (d,))),
          ('output_norm.bias', W.get('transformer.ln_f.bias', (d,)))]
    if not cfg.get('tie_word_embeddings', True) or W.has('lm_head.weight'):
        t.append(('output.weight', W.get('lm_head.weight', (V, d))))
    return 'gpt2', meta, t


def llama_model(cfg, W):
    d, L = cfg['hidden_size'], cfg['num_hidden_layers']
    H = cfg['num_attention_heads']
    KV = cfg.get('num_key_value_heads') or H
    hd = cfg.get('head_dim') or d // H
    ff, V = cfg['intermediate_size'], cfg['vocab_size']
    if cfg.get('hidden_act', 'silu') != 'silu':
        raise ValueError(f"llama.cpp llama uses SiLU (SwiGLU); this model has {cfg['hidden_act']}")
    if cfg.get('rope_scaling'):
        raise ValueError('rope_scaling is not handled by this exporter')
    if cfg.get('attention_bias') or cfg.get('mlp_bias'):
        raise ValueError('biases in attention / MLP are not handled by this exporter')
    if hd % 2:
        raise ValueError('odd head_dim')
    meta = [('context_length', gguf.UINT32, cfg['max_position_embeddings']), ('embedding_length', gguf.UINT32, d),
            ('feed_forward_length', gguf.UINT32, ff), ('block_count', gguf.UINT32, L),
            ('attention.head_count', gguf.UINT32, H), ('attention.head_count_kv', gguf.UINT32, KV),
            ('attention.key_length', gguf.UINT32, hd), ('attention.value_length', gguf.UINT32, hd),
            ('rope.dimension_count', gguf.UINT32, hd), ('rope.freq_base', gguf.FLOAT32, cfg.get('rope_theta', 10000.0)),
            ('attention.layer_norm_rms_epsilon', gguf.FLOAT32, cfg['rms_norm_eps']),
            ('vocab_size', gguf.UINT32, V)]
    t = [('token_embd.weight', W.get('model.embed_tokens.weight', (V, d)))]
    for i in range(L):
        p = f'model.layers.{i}.'
        b = f'blk.{i}.'
        t += [(b + 'attn_norm.weight', W.get(p + 'input_layernorm.weight', (d,))),
              (b + 'attn_q.weight', permute_rope(W.get(p + 'self_attn.q_proj.weight', (H * hd, d)), H)),
              (b + 'attn_k.weight', permute_rope(W.get(p + 'self_attn.k_proj.weight', (KV * hd, d)), KV)),
              (b + 'attn_v.weight', W.get(p + 'self_attn.v_proj.weight', (KV * hd, d))),
              (b + 'attn_output.weight', W.get(p + 'self_attn.o_proj.weight', (d, H * hd))),
              (b + 'ffn_norm.weight', W.get(p + 'post_attention_layernorm.weight', (d,))),
              (b + 'ffn_gate.weight', W.get(p + 'mlp.gate_proj.weight', (ff, d))),
              (b + 'ffn_up.weight', W.get(p + 'mlp.up_proj.weight', (ff, d))),
              (b + 'ffn_down.weight', W.get(p + 'mlp.down_proj.weight', (d, ff)))]
    t.append(('output_norm.weight', W.get('model.norm.weight', (d,))))
    if not cfg.get('tie_word_embeddings', True) or W.has('lm_head.weight'):
        t.append(('output.weight', W.get('lm_head.weight', (V, d))))
    return 'llama', meta, t


def tensor_type(name, a, target):
    """convert_hf_to_gguf.py's rule: 1-D tensors, norms, biases and position embeddings stay F32; other 2-D weights
    (token embedding included) take the file's type; rows that Q8_0 cannot block (not a multiple of 32) fall back
    (to F16 there, to F32 here, which is exact)."""
    if target == gguf.F32:
        return gguf.F32
    if a.ndim <= 1 or name.endswith('_norm.weight') or not name.endswith('.weight') or name.startswith('position_embd'):
        return gguf.F32
    if target == gguf.Q8_0 and a.shape[-1] % gguf.QK8_0:
        return gguf.F32
    return target


# ---------------------------------------------------------------- tokenizers

def vocab_list(tj, V):
    """id -> token string for 0..V-1 from model.vocab plus added_tokens; every id exactly once."""
    by_id = {}
    for s, i in tj['model']['vocab'].items():
        by_id[i] = s
    for a in tj.get('added_tokens', []):
        if a['id'] in by_id and by_id[a['id']] != a['content']:
            raise ValueError(f"added token {a['content']!r} collides with {by_id[a['id']]!r} at id {a['id']}")
        by_id[a['id']] = a['content']
    if sorted(by_id) != list(range(V)):
        raise ValueError(f'tokenizer ids are not exactly 0..{V - 1} (model vocab_size); got {len(by_id)} ids')
    return [by_id[i] for i in range(V)]


def merges_list(tj):
    out = []
    for m in tj['model'].get('merges', []):
        a, b = (m.split(' ', 1) if isinstance(m, str) else m)
        out.append((a, b))
    return out


def special_ids(tj, tc, toks):
    index = {s: i for i, s in enumerate(toks)}
    out = {}
    for key, kv in (('bos_token', 'bos'), ('eos_token', 'eos'), ('unk_token', 'unknown'), ('pad_token', 'padding')):
        v = tc.get(key)
        if isinstance(v, dict):
            v = v.get('content')
        if v is not None and v in index:
            out[kv] = index[v]
    return out


def tokenizer_meta(tj, tc, V, spm_scores):
    model = tj['model']
    if model.get('type') != 'BPE':
        raise ValueError(f"tokenizer model {model.get('type')} is not handled")
    toks = vocab_list(tj, V)
    added = {a['id']: a for a in tj.get('added_tokens', [])}
    merges = merges_list(tj)
    meta = []
    pre = tj.get('pre_tokenizer') or {}
    pres = pre.get('pretokenizers', [pre]) if pre.get('type') == 'Sequence' else [pre]
    byte_level = any(p.get('type') == 'ByteLevel' for p in pres)
    if byte_level:
        # llama.cpp's BPE ("gpt2") tokenizer: byte-level token strings, ranked merges, a pre-tokenizer regex
        if len(pres) != 1:
            raise ValueError('only a single ByteLevel pre-tokenizer is handled')
        bl = pres[0]
        if bl.get('add_prefix_space'):
            raise ValueError('ByteLevel add_prefix_space is not representable in llama.cpp')
        # "gpt-2" = LLAMA_VOCAB_PRE_TYPE_GPT2, whose regex is GPT-2's ('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+|
        # ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+, llama.cpp's hand-written splitter); with use_regex false the model has
        # no merges, so splitting cannot change the result and the same type is used.
        types = []
        for i, s in enumerate(toks):
            a = added.get(i)
            types.append(gguf.TOKEN_NORMAL if a is None else
                         (gguf.TOKEN_CONTROL if a.get('special') else gguf.TOKEN_USER_DEFINED))
        for a, b in merges:
            if ' ' in a or ' ' in b:
                raise ValueError('a merge contains a space, which llama.cpp cannot represent')
        meta += [('tokenizer.ggml.model', gguf.STRING, 'gpt2'), ('tokenizer.ggml.pre', gguf.STRING, 'gpt-2'),
                 ('tokenizer.ggml.tokens', (gguf.ARRAY, gguf.STRING), toks),
                 ('tokenizer.ggml.token_type', (gguf.ARRAY, gguf.INT32), types),
                 ('tokenizer.ggml.merges', (gguf.ARRAY, gguf.STRING), [f'{a} {b}' for a, b in merges])]
    else:
        # SentencePiece-style BPE with byte fallback -> llama.cpp's SPM ("llama") tokenizer, which merges the adjacent
        # pair whose concatenation is a token of highest score (leftmost first). Scores: -(rank+1) of the merge
        # that creates the token (so merge order = rank order), 0 for tokens no merge creates (characters, bytes,
        # specials). 'flat' writes -1000 everywhere, as convert_hf_to_gguf.py's LlamaHfVocab does.
        if not model.get('byte_fallback'):
            raise ValueError('a non-byte-level BPE without byte_fallback is not handled')
        norm = tj.get('normalizer') or {}
        norms = norm.get('normalizers', [norm]) if norm.get('type') == 'Sequence' else [norm]
        prepend = any(n.get('type') == 'Prepend' and n.get('prepend') == '\u2581' for n in norms)
        replace = any(n.get('type') == 'Replace' and n.get('pattern', {}).get('String') == ' '
                      and n.get('content') == '\u2581' for n in norms)
        if not replace:
            raise ValueError("llama.cpp's SPM tokenizer always maps ' ' to U+2581; this normalizer does not")
        if pre:
            raise ValueError('a pre-tokenizer with a SentencePiece-style vocabulary is not handled')
        index = {s: i for i, s in enumerate(toks)}
        score = np.zeros(V, dtype=np.float32)
        if spm_scores == 'flat':
            score[:] = -1000.0
        else:
            for r, (a, b) in enumerate(merges):
                j = index.get(a + b)
                if j is None:
                    raise ValueError(f'merge {a!r} {b!r} makes a string that is not in the vocabulary')
                if score[j] == 0:
                    score[j] = -(r + 1)
        types = []
        for i, s in enumerate(toks):
            a = added.get(i)
            if a is not None:
                types.append(gguf.TOKEN_UNKNOWN if s == model.get('unk_token') else
                             (gguf.TOKEN_CONTROL if a.get('special') else gguf.TOKEN_USER_DEFINED))
            elif len(s) == 6 and s.startswith('<0x') and s.endswith('>'):
                types.append(gguf.TOKEN_BYTE)
            else:
                types.append(gguf.TOKEN_NORMAL)
        if sum(t == gguf.TOKEN_BYTE for t in types) != 256:
            raise ValueError('byte fallback needs the 256 tokens <0x00>..<0xFF>')
        meta += [('tokenizer.ggml.model', gguf.STRING, 'llama'), ('tokenizer.ggml.pre', gguf.STRING, 'default'),
                 ('tokenizer.ggml.tokens', (gguf.ARRAY, gguf.STRING), toks),
                 ('tokenizer.ggml.scores', (gguf.ARRAY, gguf.FLOAT32), score),
                 ('tokenizer.ggml.token_type', (gguf.ARRAY, gguf.INT32), types),
                 ('tokenizer.ggml.add_space_prefix', gguf.BOOL, prepend)]
    for kv, i in special_ids(tj, tc, toks).items():
        meta.append((f'tokenizer.ggml.{kv}_token_id', gguf.UINT32, i))
    meta += [('tokenizer.ggml.add_bos_token', gguf.BOOL, bool(tc.get('add_bos_token', False))),
             ('tokenizer.ggml.add_eos_token', gguf.BOOL, bool(tc.get('add_eos_token', False)))]
    return meta


# ---------------------------------------------------------------- export

def resolve(model):
    if os.path.isdir(model):
        return os.path.abspath(model)
    p = os.path.join(ROOT, 'models', model)
    if os.path.isdir(p):
        return p
    raise SystemExit(f'no model folder {model}')


def export(folder, out_dir, type_names, spm_scores='rank', quiet=False):
    name = os.path.basename(folder.rstrip('/'))
    cfg = json.load(open(os.path.join(folder, 'config.json')))
    tj = json.load(open(os.path.join(folder, 'tokenizer.json'), encoding='utf-8'))
    tc_path = os.path.join(folder, 'tokenizer_config.json')
    tc = json.load(open(tc_path)) if os.path.exists(tc_path) else {}
    onnx_rel = (cfg.get('_lens') or {}).get('onnx', 'onnx/model.onnx')
    W = Weights(os.path.join(folder, onnx_rel))
    mt = cfg.get('model_type')
    if mt == 'gpt2':
        arch, arch_meta, tensors = gpt2_model(cfg, W)
    elif mt == 'llama':
        arch, arch_meta, tensors = llama_model(cfg, W)
    else:
        raise SystemExit(f'{name}: model_type {mt} is not handled')
    unused = sorted(n for n in W.init if n not in W.used)
    tok_meta = tokenizer_meta(tj, tc, cfg['vocab_size'], spm_scores)
    os.makedirs(out_dir, exist_ok=True)
    results = []
    for tn in type_names:
        ttype, ftype = TYPES[tn]
        w = gguf.Writer()
        w.add_string('general.architecture', arch)
        w.add_string('general.type', 'model')
        w.add_string('general.name', name)
        w.add_u32('general.file_type', ftype)
        w.add_u32('general.quantization_version', gguf.QUANTIZATION_VERSION)
        w.add_u32('general.alignment', gguf.DEFAULT_ALIGNMENT)
        for k, vt, v in arch_meta:
            w.add(f'{arch}.{k}', vt, v)
        for k, vt, v in tok_meta:
            if isinstance(vt, tuple):
                w.add_array(k, vt[1], v)
            else:
                w.add(k, vt, v)
        counts = {}
        for tname, a in tensors:
            tt = tensor_type(tname, a, ttype)
            counts[gguf.TYPE_NAMES[tt]] = counts.get(gguf.TYPE_NAMES[tt], 0) + 1
            w.add_tensor(tname, a, tt)
        path = os.path.join(out_dir, f'{name}.{tn}.gguf')
        size = w.write(path)
        verify(path, tensors, ttype)
        results.append({'file': path, 'bytes': size, 'tensors': counts})
        if not quiet:
            print(f'{path}: {size:,} bytes, tensors {counts}')
    if unused and not quiet:
        print(f'{name}: initializers not exported: {unused}')
    return results


def verify(path, tensors, ttype):
    """Read the file back: every tensor present with the right dims, F32 bit-exact, Q8_0 within half a step (plus
    the fp16 rounding of the scale: |q| <= 127 times 2^-11 relative)."""
    r = gguf.Reader(path)
    if r.version != gguf.VERSION or len(r.tensors) != len(tensors):
        raise RuntimeError(f'{path}: read back {len(r.tensors)} tensors, version {r.version}')
    for tname, a in tensors:
        b = r.array(tname)
        if b.shape != a.shape:
            raise RuntimeError(f'{path}: {tname} shape {b.shape} != {a.shape}')
        if r.tensors[tname][1] == gguf.F32:
            if not np.array_equal(a, b):
                raise RuntimeError(f'{path}: {tname} differs')
        else:
            step = np.abs(a.reshape(-1, gguf.QK8_0)).max(1, keepdims=True) / 127
            err = np.abs(a.reshape(-1, gguf.QK8_0) - b.reshape(-1, gguf.QK8_0))
            if np.any(err > step * (0.5 + 127 * 2.0 ** -11) * 1.0001 + 1e-30):
                raise RuntimeError(f'{path}: {tname} Q8_0 error {err.max()} above half a step')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('models', nargs='+')
    ap.add_argument('--out', required=True, help='output folder (not models/)')
    ap.add_argument('--types', default='F32,Q8_0')
    ap.add_argument('--spm-scores', choices=['rank', 'flat'], default='rank')
    args = ap.parse_args()
    types = [t.strip() for t in args.types.split(',') if t.strip()]
    for t in types:
        if t not in TYPES:
            raise SystemExit(f'unknown type {t} (known: {", ".join(TYPES)})')
    for m in args.models:
        export(resolve(m), args.out, types, args.spm_scores)


if __name__ == '__main__':
    main()

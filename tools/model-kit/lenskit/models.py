"""The two architectures of the kit, written so that the exported ONNX graph keeps Hugging Face module names.

GPT-2 (lens-gpt2-*): learned positions, pre-LN, GELU MLP, tied embeddings; attention projections are separate
  Linear modules transformer.h.{i}.attn.q_proj / k_proj / v_proj / out_proj (PEFT-style LoRA on q_proj, v_proj).
Llama (lens-llama-sp): RoPE, RMSNorm, SwiGLU, grouped-query attention, tied embeddings, module names as HF Llama.

forward(input_ids, attention_mask, position_ids, past) -> logits, presents, where past / presents are lists of
(key, value) shaped [batch, kv_heads, len, head_dim]. The causal mask is built from shapes and combined with
attention_mask ([batch, past+seq], 1 = attend) using masked_fill(finfo.min), so padded rows never give NaN.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def build_mask(attention_mask, q_len, past_len, dtype_min):
    """[batch, 1, q_len, past_len + q_len] boolean: True where attention is NOT allowed."""
    total = past_len + q_len
    dev = attention_mask.device
    i = torch.arange(q_len, device=dev).view(q_len, 1) + past_len
    j = torch.arange(total, device=dev).view(1, total)
    causal = j <= i
    allowed = causal.view(1, 1, q_len, total) & (attention_mask.view(attention_mask.shape[0], 1, 1, -1) > 0)
    return ~allowed


class GPT2Attention(nn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.n_head = n_head
        self.head_dim = d // n_head
        self.q_proj = nn.Linear(d, d)
        self.k_proj = nn.Linear(d, d)
        self.v_proj = nn.Linear(d, d)
        self.out_proj = nn.Linear(d, d)

    def forward(self, x, mask, past=None, lora=None):
        b, t, d = x.shape
        q = self.q_proj(x)
        v = self.v_proj(x)
        if lora is not None:
            qa, qb, va, vb = lora
            q = q + torch.matmul(torch.matmul(x, qa), qb)
            v = v + torch.matmul(torch.matmul(x, va), vb)
        k = self.k_proj(x)
        q = q.view(b, t, self.n_head, self.head_dim).transpose(1, 2)
        k = k.view(b, t, self.n_head, self.head_dim).transpose(1, 2)
        v = v.view(b, t, self.n_head, self.head_dim).transpose(1, 2)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        present = (k, v)
        att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        att = att.masked_fill(mask, torch.finfo(att.dtype).min)
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, t, d)
        return self.out_proj(y), present


class GPT2MLP(nn.Module):
    def __init__(self, d, inner):
        super().__init__()
        self.c_fc = nn.Linear(d, inner)
        self.c_proj = nn.Linear(inner, d)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate='tanh'))


class GPT2Block(nn.Module):
    def __init__(self, d, n_head, inner, eps):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.attn = GPT2Attention(d, n_head)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.mlp = GPT2MLP(d, inner)

    def forward(self, x, mask, past=None, lora=None):
        a, present = self.attn(self.ln_1(x), mask, past, lora)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return x, present


class GPT2Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg['n_embd']
        self.wte = nn.Embedding(cfg['vocab_size'], d)
        self.wpe = nn.Embedding(cfg['n_positions'], d)
        self.h = nn.ModuleList([GPT2Block(d, cfg['n_head'], cfg['n_inner'], cfg['layer_norm_epsilon']) for _ in range(cfg['n_layer'])])
        self.ln_f = nn.LayerNorm(d, eps=cfg['layer_norm_epsilon'])


class GPT2LM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.transformer = GPT2Transformer(cfg)
        self.apply(self._init)
        for n, p in self.named_parameters():
            if n.endswith('out_proj.weight') or n.endswith('c_proj.weight'):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * cfg['n_layer']))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 0.02)

    @property
    def n_kv_heads(self):
        return self.cfg['n_head']

    @property
    def head_dim(self):
        return self.cfg['n_embd'] // self.cfg['n_head']

    def forward(self, input_ids, attention_mask=None, position_ids=None, past=None, lora=None):
        b, t = input_ids.shape
        past_len = past[0][0].shape[2] if past is not None else 0
        if position_ids is None:
            position_ids = torch.arange(past_len, past_len + t).unsqueeze(0).expand(b, t)
        if attention_mask is None:
            attention_mask = torch.ones(b, past_len + t, dtype=torch.long)
        tr = self.transformer
        x = tr.wte(input_ids) + tr.wpe(position_ids)
        mask = build_mask(attention_mask, t, past_len, None)
        presents = []
        for i, blk in enumerate(tr.h):
            x, pr = blk(x, mask, past[i] if past is not None else None, lora[i] if lora is not None else None)
            presents.append(pr)
        x = tr.ln_f(x)
        logits = torch.matmul(x, tr.wte.weight.t())
        return logits, presents


# ---------------------------------------------------------------- Llama


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class LlamaAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg['hidden_size']
        self.n_head = cfg['num_attention_heads']
        self.n_kv = cfg['num_key_value_heads']
        self.head_dim = cfg['head_dim']
        self.q_proj = nn.Linear(d, self.n_head * self.head_dim, bias=False)
        self.k_proj = nn.Linear(d, self.n_kv * self.head_dim, bias=False)
        self.v_proj = nn.Linear(d, self.n_kv * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.n_head * self.head_dim, d, bias=False)

    def forward(self, x, cos, sin, mask, past=None):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.n_head, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        present = (k, v)
        rep = self.n_head // self.n_kv
        s = k.shape[2]
        kr = k[:, :, None, :, :].expand(b, self.n_kv, rep, s, self.head_dim).reshape(b, self.n_head, s, self.head_dim)
        vr = v[:, :, None, :, :].expand(b, self.n_kv, rep, s, self.head_dim).reshape(b, self.n_head, s, self.head_dim)
        att = torch.matmul(q, kr.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        att = att.masked_fill(mask, torch.finfo(att.dtype).min)
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, vr).transpose(1, 2).reshape(b, t, self.n_head * self.head_dim)
        return self.o_proj(y), present


class LlamaMLP(nn.Module):
    def __init__(self, d, inner):
        super().__init__()
        self.gate_proj = nn.Linear(d, inner, bias=False)
        self.up_proj = nn.Linear(d, inner, bias=False)
        self.down_proj = nn.Linear(inner, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg['hidden_size'], cfg['rms_norm_eps'])
        self.self_attn = LlamaAttention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg['hidden_size'], cfg['rms_norm_eps'])
        self.mlp = LlamaMLP(cfg['hidden_size'], cfg['intermediate_size'])

    def forward(self, x, cos, sin, mask, past=None):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past)
        x = x + a
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, present


class LlamaModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg['vocab_size'], cfg['hidden_size'])
        self.layers = nn.ModuleList([LlamaLayer(cfg) for _ in range(cfg['num_hidden_layers'])])
        self.norm = RMSNorm(cfg['hidden_size'], cfg['rms_norm_eps'])


class LlamaLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = LlamaModel(cfg)
        for n, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02
                if n.endswith('o_proj.weight') or n.endswith('down_proj.weight'):
                    std = 0.02 / math.sqrt(2 * cfg['num_hidden_layers'])
                nn.init.normal_(p, 0.0, std)
        hd = cfg['head_dim']
        inv = 1.0 / (cfg['rope_theta'] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        self.register_buffer('inv_freq', inv, persistent=False)

    @property
    def n_kv_heads(self):
        return self.cfg['num_key_value_heads']

    @property
    def head_dim(self):
        return self.cfg['head_dim']

    def forward(self, input_ids, attention_mask=None, position_ids=None, past=None, lora=None):
        assert lora is None
        b, t = input_ids.shape
        past_len = past[0][0].shape[2] if past is not None else 0
        if position_ids is None:
            position_ids = torch.arange(past_len, past_len + t).unsqueeze(0).expand(b, t)
        if attention_mask is None:
            attention_mask = torch.ones(b, past_len + t, dtype=torch.long)
        m = self.model
        x = m.embed_tokens(input_ids)
        freqs = position_ids.to(x.dtype).unsqueeze(-1) * self.inv_freq.to(x.dtype)
        emb = torch.cat([freqs, freqs], dim=-1)
        cos = emb.cos().unsqueeze(1)
        sin = emb.sin().unsqueeze(1)
        mask = build_mask(attention_mask, t, past_len, None)
        presents = []
        for i, layer in enumerate(m.layers):
            x, pr = layer(x, cos, sin, mask, past[i] if past is not None else None)
            presents.append(pr)
        x = m.norm(x)
        logits = torch.matmul(x, m.embed_tokens.weight.t())
        return logits, presents


# ---------------------------------------------------------------- configs

def gpt2_config(vocab_size, n_positions=512, n_embd=256, n_layer=4, n_head=4, bos=None, eos=None):
    return {
        'architectures': ['GPT2LMHeadModel'], 'model_type': 'gpt2',
        'vocab_size': vocab_size, 'n_positions': n_positions, 'n_ctx': n_positions,
        'n_embd': n_embd, 'n_layer': n_layer, 'n_head': n_head, 'n_inner': 4 * n_embd,
        'activation_function': 'gelu_new', 'layer_norm_epsilon': 1e-5,
        'resid_pdrop': 0.0, 'embd_pdrop': 0.0, 'attn_pdrop': 0.0,
        'initializer_range': 0.02, 'scale_attn_weights': True, 'tie_word_embeddings': True,
        'bos_token_id': bos, 'eos_token_id': eos, 'use_cache': True, 'torch_dtype': 'float32',
        'attention_projections': 'separate q_proj/k_proj/v_proj/out_proj Linear modules (not fused c_attn); nn.Linear weights stored [out, in]',
    }


def llama_config(vocab_size, hidden=192, layers=3, heads=6, kv_heads=2, inner=320, ctx=512):
    return {
        'architectures': ['LlamaForCausalLM'], 'model_type': 'llama',
        'vocab_size': vocab_size, 'hidden_size': hidden, 'intermediate_size': inner,
        'num_hidden_layers': layers, 'num_attention_heads': heads, 'num_key_value_heads': kv_heads,
        'head_dim': hidden // heads, 'hidden_act': 'silu', 'max_position_embeddings': ctx,
        'rms_norm_eps': 1e-5, 'rope_theta': 10000.0, 'rope_scaling': None, 'attention_bias': False,
        'mlp_bias': False, 'tie_word_embeddings': True, 'initializer_range': 0.02,
        'bos_token_id': 1, 'eos_token_id': 2, 'pad_token_id': None, 'use_cache': True, 'torch_dtype': 'float32',
    }


# The size family for scaling fits: GPT-2 models sharing the default model's tokenizer, data, data order and token
# budget, from ~25 k to the default's ~3.1 M non-embedding parameters (12 · n_layer · d² in the name's comment).
# The default model (lens-gpt2-bpe4k) is the largest member. Peak learning rates follow 3e-3 · sqrt(256 / d).
FAMILY = [
    # name, n_embd, n_layer, n_head, peak lr
    ('lens-gpt2-bpe4k-25k', 32, 2, 2, 8.5e-3),    # 12·2·32²  =    24,576
    ('lens-gpt2-bpe4k-98k', 64, 2, 2, 6e-3),      # 12·2·64²  =    98,304
    ('lens-gpt2-bpe4k-332k', 96, 3, 3, 4.9e-3),   # 12·3·96²  =   331,776
    ('lens-gpt2-bpe4k-922k', 160, 3, 5, 3.8e-3),  # 12·3·160² =   921,600
    ('lens-gpt2-bpe4k', 256, 4, 4, 3e-3),         # 12·4·256² = 3,145,728
]
FAMILY_DEFAULT = 'lens-gpt2-bpe4k'


def family_member(name):
    for m in FAMILY:
        if m[0] == name:
            return m
    return None


def build(cfg):
    return GPT2LM(cfg) if cfg['model_type'] == 'gpt2' else LlamaLM(cfg)


def context_length(cfg):
    return cfg.get('n_positions') or cfg['max_position_embeddings']


def n_params(model):
    seen = set()
    n = 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            n += p.numel()
    return n

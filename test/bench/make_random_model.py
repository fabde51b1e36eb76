#!/usr/bin/python3
"""Export a random-weight GPT-2-style causal LM in the Hugging Face / Optimum ONNX layout.

Used to develop and benchmark the engine without the trained embedded models:
  /usr/bin/python3 test/bench/make_random_model.py OUT_DIR --vocab 128000 --layers 2 --embd 64 --heads 2

Writes OUT_DIR/{config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx} and, with --goldens,
OUT_DIR/goldens.json in the goldens schema ({"model","prefixId","texts":[{"name","text","ids","logprobs"}]}).
The tokenizer is byte-level BPE with no merges: token id = byte value (0..255), 256 = <|endoftext|>;
the model's vocabulary may be larger than the tokenizer's (as padded vocabularies are).
Inputs/outputs use Optimum's names (input_ids, attention_mask, position_ids, past_key_values.{i}.key/.value ->
logits, present.{i}.key/.value); --lora adds lora.{i}.q_proj.A/B and lora.{i}.v_proj.A/B inputs (dynamic rank).
"""
import argparse, json, math, os
import torch
import torch.nn as nn

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, [chr(c) for c in cs]))

class Block(nn.Module):
    def __init__(s, d, h):
        super().__init__()
        s.h = h; s.d = d
        s.ln1 = nn.LayerNorm(d); s.qkv = nn.Linear(d, 3 * d); s.proj = nn.Linear(d, d)
        s.ln2 = nn.LayerNorm(d); s.fc = nn.Linear(d, 4 * d); s.fc2 = nn.Linear(4 * d, d)
    def forward(s, x, mask, pk, pv, lora):
        B, S, d = x.shape; hd = d // s.h
        y = s.ln1(x)
        q, k, v = s.qkv(y).split(d, dim=2)
        if lora is not None:
            qa, qb, va, vb = lora
            q = q + (y @ qa) @ qb
            v = v + (y @ va) @ vb
        q = q.view(B, S, s.h, hd).transpose(1, 2)
        k = k.view(B, S, s.h, hd).transpose(1, 2)
        v = v.view(B, S, s.h, hd).transpose(1, 2)
        k = torch.cat([pk, k], dim=2); v = torch.cat([pv, v], dim=2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        att = att.masked_fill(mask, torch.finfo(att.dtype).min)
        att = torch.softmax(att, dim=-1)
        o = (att @ v).transpose(1, 2).reshape(B, S, d)
        x = x + s.proj(o)
        x = x + s.fc2(torch.nn.functional.gelu(s.fc(s.ln2(x))))
        return x, k, v

class GPT(nn.Module):
    def __init__(s, V, P, L, d, h, lora):
        super().__init__()
        s.wte = nn.Embedding(V, d); s.wpe = nn.Embedding(P, d)
        s.blocks = nn.ModuleList([Block(d, h) for _ in range(L)])
        s.lnf = nn.LayerNorm(d); s.L = L; s.lora = lora
        for p in s.parameters():
            if p.dim() > 1: nn.init.normal_(p, std=0.3)
    def forward(s, input_ids, attention_mask, position_ids, *rest):
        L = s.L
        past = rest[: 2 * L]
        loras = rest[2 * L:]
        x = s.wte(input_ids) + s.wpe(position_ids)
        S = input_ids.shape[1]; T = attention_mask.shape[1]; P = T - S
        qpos = torch.arange(S).unsqueeze(1) + P
        kpos = torch.arange(T).unsqueeze(0)
        causal = kpos > qpos  # [S, T]
        pad = (attention_mask == 0).unsqueeze(1).unsqueeze(1)  # [B,1,1,T]
        mask = causal.unsqueeze(0).unsqueeze(0) | pad
        presents = []
        for i, b in enumerate(s.blocks):
            lora = tuple(loras[4 * i: 4 * i + 4]) if s.lora else None
            x, k, v = b(x, mask, past[2 * i], past[2 * i + 1], lora)
            presents += [k, v]
        logits = s.lnf(x) @ s.wte.weight.t()
        return (logits, *presents)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out"); ap.add_argument("--vocab", type=int, default=257)
    ap.add_argument("--layers", type=int, default=2); ap.add_argument("--embd", type=int, default=32)
    ap.add_argument("--heads", type=int, default=2); ap.add_argument("--positions", type=int, default=1024)
    ap.add_argument("--lora", action="store_true"); ap.add_argument("--goldens", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    assert a.vocab >= 257
    torch.manual_seed(a.seed)
    m = GPT(a.vocab, a.positions, a.layers, a.embd, a.heads, a.lora).eval()
    L, d, h = a.layers, a.embd, a.heads; hd = d // h
    os.makedirs(os.path.join(a.out, "onnx"), exist_ok=True)
    B, S, P, R = 2, 5, 3, 2
    args = [torch.randint(0, 257, (B, S)), torch.ones(B, P + S, dtype=torch.int64), torch.arange(P, P + S).repeat(B, 1)]
    names = ["input_ids", "attention_mask", "position_ids"]
    dyn = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "total"}, "position_ids": {0: "batch", 1: "seq"}}
    for i in range(L):
        for kv in ("key", "value"):
            n = f"past_key_values.{i}.{kv}"; names.append(n); args.append(torch.randn(B, h, P, hd))
            dyn[n] = {0: "batch", 2: "past"}
    if a.lora:
        for i in range(L):
            for mod in ("q_proj", "v_proj"):
                for ab, shape, ax in (("A", (d, R), 1), ("B", (R, d), 0)):
                    n = f"lora.{i}.{mod}.{ab}"; names.append(n); args.append(torch.zeros(*shape)); dyn[n] = {ax: "rank"}
    outs = ["logits"] + [f"present.{i}.{kv}" for i in range(L) for kv in ("key", "value")]
    dyn["logits"] = {0: "batch", 1: "seq"}
    for o in outs[1:]: dyn[o] = {0: "batch", 2: "total"}
    with torch.no_grad():
        torch.onnx.export(m, tuple(args), os.path.join(a.out, "onnx", "model.onnx"), input_names=names, output_names=outs,
                          dynamic_axes=dyn, opset_version=17, do_constant_folding=False)
    json.dump({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": a.vocab, "n_layer": L, "n_head": h,
               "n_embd": d, "n_positions": a.positions, "n_ctx": a.positions, "bos_token_id": 256, "eos_token_id": 256},
              open(os.path.join(a.out, "config.json"), "w"), indent=2)
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}; vocab["<|endoftext|>"] = 256
    tok = {"version": "1.0", "truncation": None, "padding": None,
           "added_tokens": [{"id": 256, "content": "<|endoftext|>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": True, "special": True}],
           "normalizer": None,
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
           "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
           "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "",
                     "fuse_unk": False, "byte_fallback": False, "ignore_merges": False, "vocab": vocab, "merges": []}}
    json.dump(tok, open(os.path.join(a.out, "tokenizer.json"), "w"), ensure_ascii=False)
    json.dump({"add_bos_token": False, "add_prefix_space": False, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
               "unk_token": "<|endoftext|>", "clean_up_tokenization_spaces": False, "model_max_length": a.positions,
               "tokenizer_class": "GPT2Tokenizer"}, open(os.path.join(a.out, "tokenizer_config.json"), "w"), indent=2)
    if a.goldens:
        texts = [("short", "Hello, world!"), ("unicode", "naïve café — 東京 😀\r\nok"),
                 ("long", " ".join(f"line {i}: the quick brown fox jumps over the lazy dog." for i in range(15)))]
        out = []
        for name, text in texts:
            ids = list(text.encode("utf-8"))
            seq = torch.tensor([[256] + ids])
            n = seq.shape[1]
            empty = [torch.zeros(1, h, 0, hd) for _ in range(2 * L)]
            extra = []
            if a.lora:
                for i in range(L):
                    extra += [torch.zeros(d, 0), torch.zeros(0, d), torch.zeros(d, 0), torch.zeros(0, d)]
            with torch.no_grad():
                logits = m(seq, torch.ones(1, n, dtype=torch.int64), torch.arange(n).unsqueeze(0), *empty, *extra)[0][0].double()
            lp = torch.log_softmax(logits, dim=-1)
            out.append({"name": name, "text": text, "ids": ids, "logprobs": [lp[j, ids[j]].item() for j in range(len(ids))]})
        json.dump({"model": os.path.basename(os.path.normpath(a.out)), "prefixId": 256, "texts": out},
                  open(os.path.join(a.out, "goldens.json"), "w"), ensure_ascii=False)
    print("wrote", a.out)

if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Train one model (or one LoRA adapter of the default model) on the kit's corpus, single-threaded, fixed seed.

  train.py --name lens-gpt2-bpe4k --steps 1200
  train.py --name lens-gpt2-bpe4k --adapter markdown-prose --domain prose --steps 150 --lr 2e-3

Writes work/ckpt/<name>[.<adapter>].pt and logs/train-<name>[.<adapter>].json (summary + loss curve).
"""
import argparse, json, math, os, random, sys, time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lenskit import tok, models  # noqa: E402

KIT = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(KIT))


def model_config(name, vocab):
    member = models.family_member(name)
    if member is not None:
        _, d, n_layer, n_head, _ = member
        return models.gpt2_config(vocab, n_positions=512, n_embd=d, n_layer=n_layer, n_head=n_head, bos=vocab - 1, eos=vocab - 1)
    if name == 'lens-gpt2-byte':
        return models.gpt2_config(vocab, n_positions=512, bos=256, eos=256)
    if name == 'lens-llama-sp':
        return models.llama_config(vocab)
    raise SystemExit('unknown model ' + name)


def prefix_id(name, cfg):
    return cfg['bos_token_id']


def token_stream(name, enc, prefix, domain, need, seed, log):
    files = [json.loads(l) for l in open(os.path.join(KIT, 'work', 'train_files.jsonl'), encoding='utf-8')]
    files.sort(key=lambda f: f['source'])
    random.Random(seed).shuffle(files)
    if domain != 'all':
        files = [f for f in files if f['kind'] == domain]
    ids, nbytes = [], 0
    t = time.time()
    for f in files:
        ids.append(prefix)
        ids.extend(enc.encode(f['text']))
        nbytes += len(f['text'].encode('utf-8'))
        if len(ids) >= need:
            break
    log(f'tokenized {nbytes} bytes into {len(ids)} tokens ({nbytes / len(ids):.3f} bytes/token) in {time.time() - t:.1f}s')
    return torch.tensor(ids, dtype=torch.long), nbytes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--name', required=True)
    ap.add_argument('--adapter')
    ap.add_argument('--domain', default='all', choices=['all', 'code', 'prose'])
    ap.add_argument('--steps', type=int, default=1000)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--seq', type=int, default=512)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--min-lr', type=float, default=1e-4)
    ap.add_argument('--warmup', type=int, default=40)
    ap.add_argument('--rank', type=int, default=8)
    ap.add_argument('--alpha', type=float, default=16)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--resume', action='store_true', help='continue work/ckpt/NAME.pt (second phase, fresh optimizer)')
    ap.add_argument('--offset-tokens', type=int, default=0, help='skip this many tokens of the stream (data of earlier phases); -1 = right after the first phase')
    ap.add_argument('--save-at', default='', help='comma-separated step counts after which a checkpoint work/ckpt/NAME@STEPS.pt is kept (for L(D))')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    tag = a.name + (('.' + a.adapter) if a.adapter else '')
    os.makedirs(os.path.join(KIT, 'work', 'ckpt'), exist_ok=True)
    os.makedirs(os.path.join(KIT, 'logs'), exist_ok=True)
    logf = open(os.path.join(KIT, 'logs', f'train-{tag}.log'), 'a' if a.resume else 'w')

    def log(msg):
        print(msg, flush=True)
        logf.write(msg + '\n')
        logf.flush()

    # the size family shares the default model's tokenizer
    tok_name = models.FAMILY_DEFAULT if models.family_member(a.name) else a.name
    enc = tok.load(os.path.join(ROOT, 'models', tok_name, 'tokenizer.json'))
    vocab = len(enc.vocab)
    if a.adapter or a.resume:
        ck = torch.load(os.path.join(KIT, 'work', 'ckpt', a.name + '.pt'))
        cfg = ck['config']
    else:
        cfg = model_config(a.name, vocab)
    model = models.build(cfg)
    if a.adapter or a.resume:
        model.load_state_dict(ck['state_dict'])
    prefix = prefix_id(a.name, cfg)
    seq = a.seq
    need = a.steps * a.batch * (seq + 1)
    if a.resume and a.offset_tokens < 0:
        # the first phase read every whole window of the stream it tokenized: start right after them
        prev = json.load(open(os.path.join(KIT, 'logs', f'train-{tag}.json')))
        s1, _ = token_stream(a.name, enc, prefix, a.domain, prev['steps'] * prev['batch'] * (prev['seq'] + 1), seed=1234, log=log)
        a.offset_tokens = len(s1) // (prev['seq'] + 1) * (prev['seq'] + 1)
        log(f'offset {a.offset_tokens} tokens (end of the first phase\'s windows)')
    stream, nbytes = token_stream(a.name, enc, prefix, a.domain, need + a.offset_tokens, seed=1234 + (7 if a.adapter else 0), log=log)
    bytes_per_token = nbytes / len(stream)
    stream = stream[a.offset_tokens:]
    n_chunks = len(stream) // (seq + 1)
    chunks = stream[:n_chunks * (seq + 1)].view(n_chunks, seq + 1)
    g = torch.Generator().manual_seed(a.seed)
    order = torch.randperm(n_chunks, generator=g)
    epochs = need / (n_chunks * (seq + 1))
    log(f'{tag}: {n_chunks} chunks of {seq + 1} tokens, {epochs:.2f} epochs over them')

    lora = None
    if a.adapter:
        for p in model.parameters():
            p.requires_grad_(False)
        d = cfg['n_embd']
        lora_params = []
        for i in range(cfg['n_layer']):
            layer = {}
            for mod in ('q_proj', 'v_proj'):
                A = torch.empty(a.rank, d)
                torch.nn.init.kaiming_uniform_(A, a=math.sqrt(5))
                B = torch.zeros(d, a.rank)
                layer[mod] = (torch.nn.Parameter(A), torch.nn.Parameter(B))
            lora_params.append(layer)
        params = [p for layer in lora_params for ab in layer.values() for p in ab]
        scale = a.alpha / a.rank
        opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.99), weight_decay=0.0)
    else:
        decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
        nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
        opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': nodecay, 'weight_decay': 0.0}],
                                lr=a.lr, betas=(0.9, 0.95))
        params = list(model.parameters())
    n_par = models.n_params(model)
    log(f'{tag}: {n_par} parameters, config {json.dumps(cfg)}')

    save_at = sorted(int(v) for v in a.save_at.split(',') if v)
    checkpoints = []
    curve = []
    t0 = time.time()
    tokens = 0
    run_loss = None
    model.train()
    for step in range(a.steps):
        if step < a.warmup:
            lr = a.lr * (step + 1) / a.warmup
        else:
            pr = (step - a.warmup) / max(1, a.steps - a.warmup)
            lr = a.min_lr + 0.5 * (a.lr - a.min_lr) * (1 + math.cos(math.pi * pr))
        for gr in opt.param_groups:
            gr['lr'] = lr
        idx = [order[(step * a.batch + k) % n_chunks].item() for k in range(a.batch)]
        batch = chunks[idx]
        x, y = batch[:, :-1], batch[:, 1:]
        if lora is not None or a.adapter:
            lo = [(L['q_proj'][0].t(), L['q_proj'][1].t() * scale, L['v_proj'][0].t(), L['v_proj'][1].t() * scale) for L in lora_params]
            logits, _ = model(x, lora=lo)
        else:
            logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        tokens += x.numel()
        lv = loss.item()
        run_loss = lv if run_loss is None else 0.95 * run_loss + 0.05 * lv
        if step % 10 == 0 or step == a.steps - 1:
            el = time.time() - t0
            curve.append({'step': step, 'loss': round(lv, 4), 'smoothed': round(run_loss, 4), 'lr': round(lr, 6),
                          'tokens': tokens, 'seconds': round(el, 1)})
            if step % 50 == 0 or step == a.steps - 1:
                log(f'step {step:5d} loss {lv:.4f} (smoothed {run_loss:.4f}) lr {lr:.2e} tokens {tokens} {tokens / el:.0f} tok/s {el:.0f}s')
        if step + 1 in save_at and step + 1 < a.steps:
            torch.save({'config': cfg, 'state_dict': model.state_dict(), 'steps': step + 1, 'tokens': tokens},
                       os.path.join(KIT, 'work', 'ckpt', f'{tag}@{step + 1}.pt'))
            checkpoints.append({'steps': step + 1, 'tokens': tokens, 'lr': round(lr, 6), 'smoothedLoss': round(run_loss, 4)})
            log(f'checkpoint after {step + 1} steps ({tokens} tokens)')
    el = time.time() - t0
    out = {'config': cfg}
    if a.adapter:
        out['lora'] = {'r': a.rank, 'alpha': a.alpha, 'domain': a.domain,
                       'layers': [{m: (ab[0].detach().clone(), ab[1].detach().clone()) for m, ab in L.items()} for L in lora_params]}
    else:
        out['state_dict'] = model.state_dict()
    torch.save(out, os.path.join(KIT, 'work', 'ckpt', tag + '.pt'))
    summary = {
        'model': a.name, 'adapter': a.adapter, 'domain': a.domain, 'parameters': n_par,
        'trainableParameters': sum(p.numel() for p in params),
        'steps': a.steps, 'batch': a.batch, 'seq': seq, 'lr': a.lr, 'minLr': a.min_lr, 'warmup': a.warmup, 'seed': a.seed,
        'threads': a.threads, 'tokens': tokens, 'textBytesSeen': round(tokens * bytes_per_token),
        'bytesPerTrainToken': round(bytes_per_token, 4), 'epochsOverStream': round(epochs, 3),
        'seconds': round(el, 1), 'tokensPerSecond': round(tokens / el, 1),
        'finalTrainLoss': round(sum(c['loss'] for c in curve[-5:]) / len(curve[-5:]), 4),
        'torch': torch.__version__, 'curve': curve,
    }
    if checkpoints:
        summary['checkpoints'] = checkpoints
    if a.adapter:
        summary['r'] = a.rank
        summary['alpha'] = a.alpha
    phase = {k: summary[k] for k in ('steps', 'batch', 'seq', 'lr', 'minLr', 'warmup', 'seed', 'tokens', 'seconds', 'tokensPerSecond')}
    phase['offsetTokens'] = a.offset_tokens
    summary['phases'] = [phase]
    summary['schedule'] = (f"AdamW, lr {a.lr:g} -> {a.min_lr:g} (linear warm-up {a.warmup} steps, cosine), "
                           + ('weight decay 0, LoRA A/B only' if a.adapter else 'weight decay 0.1') + f', grad clip 1.0, seed {a.seed}')
    if a.resume:
        prev = json.load(open(os.path.join(KIT, 'logs', f'train-{tag}.json')))
        base_steps = prev['steps']
        summary['phases'] = prev.get('phases', []) + [phase]
        summary['schedule'] = prev['schedule'] + f'; then {a.steps} more steps from that checkpoint with a fresh optimizer: ' + summary['schedule'] + f', on the next {a.steps * a.batch * (seq + 1):,} tokens of the stream'
        summary['curve'] = prev['curve'] + [dict(c, step=c['step'] + base_steps, tokens=c['tokens'] + prev['tokens'],
                                                  seconds=round(c['seconds'] + prev['seconds'], 1)) for c in curve]
        summary['steps'] += base_steps
        summary['textBytesSeen'] += prev['textBytesSeen']
        summary['tokens'] += prev['tokens']
        summary['seconds'] = round(summary['seconds'] + prev['seconds'], 1)
        summary['tokensPerSecond'] = round(summary['tokens'] / summary['seconds'], 1)
    json.dump(summary, open(os.path.join(KIT, 'logs', f'train-{tag}.json'), 'w'), indent=1)
    log(f'done {tag}: {tokens} tokens in {el:.0f}s ({tokens / el:.0f} tok/s)')
    logf.close()


if __name__ == '__main__':
    main()

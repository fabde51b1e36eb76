#!/usr/bin/env python3
"""Train the three tokenizers on a fixed-seed sample of the training files and write them into models/<name>/."""
import json, os, random, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lenskit import tok

KIT = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(KIT))
SAMPLE_BYTES = 10_000_000
CONTEXT = {'lens-gpt2-bpe4k': 512, 'lens-gpt2-byte': 512, 'lens-llama-sp': 512}


def write(name, tj, cfg):
    d = os.path.join(ROOT, 'models', name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'tokenizer.json'), 'w', encoding='utf-8', newline='\n') as fh:
        json.dump(tj, fh, ensure_ascii=False, indent=None, separators=(',', ':'))
    with open(os.path.join(d, 'tokenizer_config.json'), 'w', encoding='utf-8', newline='\n') as fh:
        json.dump(cfg, fh, ensure_ascii=False, indent=2)
        fh.write('\n')


def main():
    rng = random.Random(42)
    files = [json.loads(l) for l in open(os.path.join(KIT, 'work', 'train_files.jsonl'), encoding='utf-8')]
    rng.shuffle(files)
    sample, n = [], 0
    for f in files:
        if n >= SAMPLE_BYTES:
            break
        sample.append(f['text'])
        n += len(f['text'].encode('utf-8'))
    log = lambda *a: print(*a, flush=True)
    log(f'tokenizer sample: {len(sample)} files, {n} bytes')
    t = time.time()
    bpe = tok.ByteLevelBPE.train(sample, 4096, log=log)
    log(f'byte-level BPE: vocab {len(bpe.vocab)}, merges {len(bpe.merges)}, {time.time() - t:.1f}s')
    write('lens-gpt2-bpe4k', bpe.tokenizer_json(), tok.gpt2_config(CONTEXT['lens-gpt2-bpe4k']))
    bt = tok.ByteTokenizer()
    write('lens-gpt2-byte', bt.tokenizer_json(), tok.gpt2_config(CONTEXT['lens-gpt2-byte']))
    log(f'bytes: vocab {len(bt.vocab)}')
    t = time.time()
    sp = tok.SentencePieceBPE.train(sample, 4096, log=log)
    log(f'SentencePiece-style BPE: vocab {len(sp.vocab)}, merges {len(sp.merges)}, {time.time() - t:.1f}s')
    write('lens-llama-sp', sp.tokenizer_json(), tok.sp_config(CONTEXT['lens-llama-sp']))


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Golden per-token log-probabilities from PyTorch (float64) for the engine's tests: test/goldens/<model>.json."""
import json, os, sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lenskit import common  # noqa: E402

TEXTS = [
    ('ascii-prose', 'The quick brown fox jumps over the lazy dog. Perplexity measures how surprised a language '
                    'model is by a text: the lower it is, the better the model predicted each token.'),
    ('unicode', 'Emoji 😀👍🏽 and a family 👨\u200d👩\u200d👧, CJK 漢字とかな, 한국어; combining e\u0301 a\u0308 n\u0303.\r\n'
                'Second line after CRLF: café — naïve résumé ✓ « quotes » 1 234,56 €\r\n'),
    ('typescript', 'export async function readConfig(path: string): Promise<Record<string, unknown>> {\n'
                   '  const text = await fs.promises.readFile(path, "utf8");\n'
                   '  if (!text.trim()) {\n    throw new Error(`empty config: ${path}`);\n  }\n'
                   '  return JSON.parse(text) as Record<string, unknown>;\n}\n'),
]


@torch.no_grad()
def logprobs(model, prefix, ids, lora=None):
    x = torch.tensor([[prefix] + ids[:-1]], dtype=torch.long)
    logits, _ = model(x, lora=lora)
    lp = torch.log_softmax(logits[0].double(), dim=-1)
    return lp.gather(1, torch.tensor(ids).view(-1, 1)).view(-1).tolist()


def main(names):
    os.makedirs(os.path.join(common.ROOT, 'test', 'goldens'), exist_ok=True)
    for name in names:
        model, cfg = common.load_model(name, torch.float64)
        enc = common.load_tokenizer(name)
        prefix = cfg['bos_token_id']
        ctx = cfg.get('n_positions') or cfg['max_position_embeddings']
        out = {'model': name, 'prefixId': prefix, 'precision': 'PyTorch float64',
               'note': 'logprobs[t] = ln p(ids[t] | prefix, ids[<t]); ids encoded with no special tokens',
               'texts': []}
        for tname, text in TEXTS:
            ids = enc.encode(text)
            assert len(ids) < ctx
            out['texts'].append({'name': tname, 'text': text, 'ids': ids, 'logprobs': logprobs(model, prefix, ids)})
        if name == common.DEFAULT:
            d = cfg['n_embd']
            L = cfg['n_layer']
            ads = {a: common.load_adapter(name, a) for a in common.ADAPTERS}
            combos = [[(a, 1.0)] for a in common.ADAPTERS] + [[('markdown-prose', 1.0), ('typescript-code', 0.5)]]
            out['adapters'] = []
            for combo in combos:
                lora = common.lora_feed(L, d, [ads[a] + (s,) for a, s in combo], torch.float64)
                out['adapters'].append({
                    'adapters': [{'name': a, 'scale': s} for a, s in combo],
                    'note': 'feed: A = lora_A^T concatenated along rank, B = (alpha/r*scale) * lora_B^T concatenated',
                    'texts': [{'name': t['name'], 'logprobs': logprobs(model, prefix, t['ids'], lora)} for t in out['texts']],
                })
        path = os.path.join(common.ROOT, 'test', 'goldens', name + '.json')
        with open(path, 'w', newline='\n') as fh:
            json.dump(out, fh, ensure_ascii=False, indent=1)
            fh.write('\n')
        print(name, [len(t['ids']) for t in out['texts']])


if __name__ == '__main__':
    main(sys.argv[1:] or common.MODELS)

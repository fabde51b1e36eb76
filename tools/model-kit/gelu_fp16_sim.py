#!/usr/bin/env python3
"""Explain llama.cpp's F32 GPT-2 differences: ggml's CPU backend computes GELU on float32 tensors through a table of
65,536 fp16 values (vec.h defines GGML_GELU_FP16: the input is rounded to fp16, the table holds fp16(gelu(x))).
This runs a kit GPT-2 model (weights from its ONNX initializers) in float64 with the exact tanh GELU and with that
fp16-table GELU and prints the per-token |difference| of log p(next token) over the kit's rolling windows.

  /usr/bin/python3 tools/model-kit/gelu_fp16_sim.py lens-gpt2-bpe4k [SOURCE ...]   (SOURCE: a validation file's
      "source"; default the first code file)
"""
import json
import os
import sys

import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lenskit import common, models  # noqa: E402

EXACT = F.gelu


def gelu_fp16_table(x, approximate='tanh'):
    x16 = x.float().half()
    y = EXACT(x16.float(), approximate='tanh').half().double()
    return torch.where(x <= -10, torch.zeros_like(x), torch.where(x >= 10, x, y))


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else common.DEFAULT
    folder = common.model_dir(name)
    cfg = json.load(open(os.path.join(folder, 'config.json')))
    m = models.GPT2LM(cfg)
    sd = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy())
          for i in onnx.load(os.path.join(folder, 'onnx', 'model.onnx')).graph.initializer}
    m.load_state_dict(sd, strict=False)
    m = m.double().eval()
    enc = common.load_tokenizer(name)
    files = [json.loads(l) for k in ('code', 'prose') for l in open(os.path.join(common.KIT, 'validation', k + '.jsonl'))]
    wanted = sys.argv[2:] or [files[0]['source']]
    texts = [f['text'] for f in files if f['source'] in wanted]
    out = {}
    for label, fn in (('exact', EXACT), ('fp16table', gelu_fp16_table)):
        F.gelu = fn
        lps = []
        with torch.no_grad():
            for text in texts:
                for inp, cont in common.rolling_windows(enc.encode(text), cfg['_lens']['prefix_token_id'], cfg['n_positions']):
                    logits, _ = m(torch.tensor([inp]))
                    lp = torch.log_softmax(logits[0], -1)[-len(cont):]
                    lps.append(lp.gather(1, torch.tensor(cont).view(-1, 1)).view(-1))
        out[label] = torch.cat(lps)
    F.gelu = EXACT
    d = (out['fp16table'] - out['exact']).abs()
    print(f'{name}: {len(texts)} file(s), {len(d)} tokens: fp16-table GELU vs exact, |Δ logprob| max {d.max().item():.4e} '
          f'mean {d.mean().item():.4e}')


if __name__ == '__main__':
    torch.set_num_threads(1)
    main()

#!/usr/bin/env python3
"""Export trained checkpoints: config.json + onnx/model.onnx (fp32, opset 17, Optimum names), the default model
also with LoRA inputs and once more without them into test/fixtures/lens-gpt2-bpe4k-nolora/, and the PEFT adapters.

  export.py model NAME      export.py nolora      export.py adapters
"""
import json, os, shutil, sys

import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lenskit import common, models  # noqa: E402

OPSET = 17


def onnx_forward(model, n_layer, with_lora):
    """Flat-argument forward installed on the model instance itself (not a wrapper module), so the exported
    initializers keep the model's own module names (transformer.h.0.attn.q_proj.weight, model.layers.0...)."""
    inner = model.forward

    def forward(input_ids, attention_mask, position_ids, *rest):
        L = n_layer
        past = [(rest[2 * i], rest[2 * i + 1]) for i in range(L)]
        lora = None
        if with_lora:
            lr = rest[2 * L:]
            lora = [(lr[4 * i], lr[4 * i + 1], lr[4 * i + 2], lr[4 * i + 3]) for i in range(L)]
        logits, presents = inner(input_ids, attention_mask, position_ids, past, lora)
        out = [logits]
        for k, v in presents:
            out += [k, v]
        return tuple(out)
    return forward


def n_layers(cfg):
    return cfg.get('n_layer') or cfg['num_hidden_layers']


def export_onnx(model, cfg, path, with_lora):
    L = n_layers(cfg)
    kvh, hd = model.n_kv_heads, model.head_dim
    b, t, p = 2, 5, 3
    torch.manual_seed(0)
    ids = torch.randint(0, cfg['vocab_size'], (b, t))
    mask = torch.ones(b, p + t, dtype=torch.long)
    pos = torch.arange(p, p + t).unsqueeze(0).expand(b, t).contiguous()
    args = [ids, mask, pos]
    in_names = ['input_ids', 'attention_mask', 'position_ids']
    out_names = ['logits']
    dyn = {'input_ids': {0: 'batch_size', 1: 'sequence_length'},
           'attention_mask': {0: 'batch_size', 1: 'total_sequence_length'},
           'position_ids': {0: 'batch_size', 1: 'sequence_length'},
           'logits': {0: 'batch_size', 1: 'sequence_length'}}
    for i in range(L):
        for kv in ('key', 'value'):
            args.append(torch.randn(b, kvh, p, hd))
            n = f'past_key_values.{i}.{kv}'
            in_names.append(n)
            dyn[n] = {0: 'batch_size', 2: 'past_sequence_length'}
            o = f'present.{i}.{kv}'
            out_names.append(o)
            dyn[o] = {0: 'batch_size', 2: 'total_sequence_length'}
    if with_lora:
        d = cfg['n_embd']
        for i in range(L):
            for mod in ('q_proj', 'v_proj'):
                args.append(torch.randn(d, 2) * 0.01)
                args.append(torch.randn(2, d) * 0.01)
                na, nb = f'lora.{i}.{mod}.A', f'lora.{i}.{mod}.B'
                in_names += [na, nb]
                dyn[na] = {1: 'lora_rank'}
                dyn[nb] = {0: 'lora_rank'}
    model.eval()
    saved = model.forward
    model.forward = onnx_forward(model, L, with_lora)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(model, tuple(args), path, input_names=in_names, output_names=out_names,
                          dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=False)
    model.forward = saved
    m = onnx.load(path)
    onnx.checker.check_model(m)
    inits = [x.name for x in m.graph.initializer]
    return {'path': os.path.relpath(path, common.ROOT), 'bytes': os.path.getsize(path), 'inputs': in_names,
            'outputs': out_names, 'initializers': len(inits), 'opset': OPSET}


def write_config(name, cfg, dest):
    c = dict(cfg)
    c['transformers_version'] = '4.46.0'
    c['_lens'] = {'onnx': 'onnx/model.onnx', 'prefix_token_id': cfg['bos_token_id'],
                  'lora_inputs': name == common.DEFAULT and dest == common.model_dir(name)}
    with open(os.path.join(dest, 'config.json'), 'w', newline='\n') as fh:
        json.dump(c, fh, indent=2)
        fh.write('\n')


def cmd_model(name):
    model, cfg = common.load_model(name)
    dest = common.model_dir(name)
    write_config(name, cfg, dest)
    info = export_onnx(model, cfg, os.path.join(dest, 'onnx', 'model.onnx'), with_lora=(name == common.DEFAULT))
    json.dump(info, open(os.path.join(common.KIT, 'logs', f'export-{name}.json'), 'w'), indent=1)
    print(json.dumps({k: v for k, v in info.items() if k not in ('inputs', 'outputs')}))


def cmd_family():
    """The size family (lenskit.models.FAMILY, the default model excepted) and the 98k checkpoints, for scaling fits:
    models/family/<name>/ in the Hugging Face layout, sharing the default model's tokenizer."""
    import glob
    names = [m[0] for m in models.FAMILY if m[0] != common.DEFAULT]
    names += sorted((os.path.basename(p)[:-3] for p in glob.glob(os.path.join(common.KIT, 'work', 'ckpt', '*@*.pt'))),
                    key=lambda n: int(n.split('@')[1]))
    for name in names:
        model, cfg = common.load_model(name)
        dest = os.path.join(common.ROOT, 'models', 'family', name.replace('@', '-at-'))
        os.makedirs(dest, exist_ok=True)
        for f in ('tokenizer.json', 'tokenizer_config.json'):
            shutil.copy(os.path.join(common.model_dir(common.DEFAULT), f), os.path.join(dest, f))
        write_config(name, cfg, dest)
        info = export_onnx(model, cfg, os.path.join(dest, 'onnx', 'model.onnx'), with_lora=False)
        print(name, info['bytes'], 'bytes')


def cmd_nolora():
    name = common.DEFAULT
    model, cfg = common.load_model(name)
    dest = os.path.join(common.ROOT, 'test', 'fixtures', 'lens-gpt2-bpe4k-nolora')
    os.makedirs(dest, exist_ok=True)
    write_config(name, cfg, dest)
    for f in ('tokenizer.json', 'tokenizer_config.json'):
        shutil.copy(os.path.join(common.model_dir(name), f), os.path.join(dest, f))
    path = os.path.join(dest, 'onnx', 'model.onnx')
    info = export_onnx(model, cfg, path, with_lora=False)
    m = onnx.load(path)
    inits = {x.name: list(x.dims) for x in m.graph.initializer}
    q = 'transformer.h.0.attn.q_proj.weight'
    consumers = [(n.op_type, n.name, list(n.input), list(n.output)) for n in m.graph.node if q in n.input]
    chain = []
    for op, nname, ins, outs in consumers:
        chain.append({'op': op, 'node': nname, 'inputs': ins})
        for n in m.graph.node:
            if outs and outs[0] in n.input:
                chain.append({'op': n.op_type, 'node': n.name, 'inputs': list(n.input)})
    info['weights'] = {k: v for k, v in inits.items() if 'h.0.' in k or 'wte' in k or 'wpe' in k}
    info['q_proj_consumers'] = chain
    json.dump(info, open(os.path.join(common.KIT, 'logs', 'export-nolora.json'), 'w'), indent=1)
    with open(os.path.join(dest, 'README.md'), 'w', newline='\n') as fh:
        fh.write('# lens-gpt2-bpe4k without LoRA inputs (test fixture)\n\n'
                 'The same weights as `models/lens-gpt2-bpe4k`, exported by `tools/model-kit/export.py nolora` as a plain '
                 'Hugging Face-style graph with no `lora.*` inputs, for the engine\'s LoRA "merge" path. Weight '
                 'initializers keep their PyTorch module names (e.g. `transformer.h.0.attn.q_proj.weight`, stored '
                 '[out, in]); see tools/model-kit/README.md for how MatMul consumes them.\n')
    print(json.dumps(chain, indent=1))


def cmd_adapters():
    name = common.DEFAULT
    base = os.path.join(common.model_dir(name), 'adapters')
    for ad, meta in common.ADAPTERS.items():
        r, alpha, layers = common.load_adapter(name, ad)
        summ = json.load(open(os.path.join(common.KIT, 'logs', f'train-{name}.{ad}.json')))
        d = os.path.join(base, ad)
        os.makedirs(d, exist_ok=True)
        tensors = {}
        for i, L in enumerate(layers):
            for mod, (A, B) in L.items():
                pre = f'base_model.model.transformer.h.{i}.attn.{mod}'
                tensors[pre + '.lora_A.weight'] = A
                tensors[pre + '.lora_B.weight'] = B
        common.write_safetensors(os.path.join(d, 'adapter_model.safetensors'), tensors, {'format': 'pt'})
        conf = {
            'peft_type': 'LORA', 'task_type': 'CAUSAL_LM', 'r': r, 'lora_alpha': alpha,
            'target_modules': ['q_proj', 'v_proj'], 'fan_in_fan_out': False, 'lora_dropout': 0.0, 'bias': 'none',
            'base_model_name_or_path': name, 'inference_mode': True, 'init_lora_weights': True,
            'modules_to_save': None, 'layers_to_transform': None, 'use_rslora': False, 'use_dora': False,
            'revision': None,
            'description': meta['description'] + f" (LoRA r={r}, alpha={alpha:g}, trained {summ['steps']} steps, {summ['tokens']} tokens)",
        }
        with open(os.path.join(d, 'adapter_config.json'), 'w', newline='\n') as fh:
            json.dump(conf, fh, indent=2)
            fh.write('\n')
        back = common.read_safetensors(os.path.join(d, 'adapter_model.safetensors'))
        assert all(torch.equal(back[k], tensors[k].float()) for k in tensors)
        print(ad, os.path.getsize(os.path.join(d, 'adapter_model.safetensors')), 'bytes')


if __name__ == '__main__':
    torch.set_num_threads(1)
    cmd = sys.argv[1]
    if cmd == 'model':
        for n in sys.argv[2:]:
            cmd_model(n)
    elif cmd == 'nolora':
        cmd_nolora()
    elif cmd == 'family':
        cmd_family()
    elif cmd == 'adapters':
        cmd_adapters()

#!/usr/bin/env python3
"""Quantized variants of a model kit graph (`onnx` and `numpy` only; there is no onnxruntime for Python here).

  quantize.py int8 MODEL_DIR [--out-dir DIR] [--per-tensor] [--reduce-range] [--lm-head int8] [--gather int8]
  quantize.py q4   MODEL_DIR [--out-dir DIR] [--block-size 32] [--symmetric] [--lm-head q4] [--accuracy-level N]

Reads MODEL_DIR/onnx/model.onnx and writes onnx/model_int8.onnx or onnx/model_q4.onnx next to it (or into
--out-dir): the file names transformers.js gives the dtypes `int8` and `q4`.

Which MatMuls: every MatMul whose B is a constant 2-D float matrix, either an initializer used directly or, as in
the kit's exports (do_constant_folding=False), `Transpose(perm=[1,0])` of an initializer stored [out, in]. The
transpose is folded into the quantized weight (which is stored [in, out] for MatMulInteger and [out, blocks, blob]
for MatMulNBits); the Transpose node and the fp32 initializer go away unless something else still uses them (the
tied embedding matrix stays for the input Gather). MatMuls whose B is computed (attention scores, attention x
values) or a graph input (the LoRA A/B inputs) are left as they are, so the LoRA branch stays fp32 and keeps
working. Every other node, the graph inputs and outputs (names, types, dynamic axes) are copied unchanged.

int8 (what onnxruntime's `quantize_dynamic(weight_type=QInt8)` emits for a MatMul, QOperator/IntegerOps form):
  DynamicQuantizeLinear(A) -> A_quantized (uint8), A_scale, A_zero_point   (one per distinct activation)
  MatMulInteger(A_quantized, W_quantized, A_zero_point, W_zero_point) -> int32
  Cast(float) ; Mul(A_scale, W_scale) ; Mul(cast, scales) -> the original MatMul output
  Weights: int8, symmetric (zero point 0), scale = max|w| / 127, values round-half-even and clipped to
  [-127, 127] (with --reduce-range: 7 bits, scale = max|w| / 64, [-64, 64]). Default per channel: one scale per
  output column of B (per output feature, i.e. per row of the PyTorch [out, in] weight); --per-tensor: one scale.
  onnxruntime fuses the pattern into DynamicQuantizeMatMul / MatMulIntegerToFloat when it loads the file.
  --gather int8: the Gathers of 2-D float initializers (wte, wpe) read int8 rows too (per-row scales,
  Gather + Gather(scales) + Cast + Mul), and the tied output projection then uses Transpose(int8 wte) (folded by
  onnxruntime at load), so the embedding matrix is stored once, in int8.

q4 (what onnxruntime's MatMul4BitsQuantizer / MatMulNBitsQuantizer emits, QOperator form, bits 4):
  com.microsoft MatMulNBits(A, B_Q4, scales[, zero_points]) with K, N, bits=4, block_size (default 32).
  Blocks of block_size consecutive elements along K of each output column n; B [N, ceil(K/bs), bs/2] uint8, two
  values per byte, the first in the low nibble; scales float32 [N * k_blocks] (flat, as the quantizer writes them).
  Default asymmetric (the quantizer's default, is_symmetric=False): per block lo = min(min, 0), hi = max(max, 0),
  scale = (hi - lo) / 15, zp = clamp(round(-lo / scale), 0, 15), q = clamp(round(w / scale + zp), 0, 15)
  (round half away from zero, like C's roundf); zero points packed two per byte, [N * ceil(k_blocks / 2)] uint8.
  --symmetric (transformers.js' default for its model_q4 files): scale = m / -8 where m is the block's value of
  largest magnitude (sign kept), zero point implicit 8, no zero_points input.
  Dequantized: w = (q - zp) * scale.

The output projection (the MatMul that writes `logits`, here the tied embedding matrix through its Transpose) stays
fp32 by default: while the input Gather needs the fp32 matrix anyway, a quantized copy makes the file larger, and it
was the largest single source of error (README "Quantized variants"). --lm-head int8 / q4 quantizes it like the
other MatMuls; int8 --gather int8 quantizes it and the embedding Gathers onto one shared int8 matrix.
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MS_DOMAIN = 'com.microsoft'


# ---------------------------------------------------------------------------------------------------- graph helpers

class GraphIndex:
    def __init__(self, graph):
        self.graph = graph
        self.inits = {t.name: t for t in graph.initializer}
        self.producer = {}
        self.consumers = {}
        for n in graph.node:
            for o in n.output:
                self.producer[o] = n
            for i in n.input:
                if i:
                    self.consumers.setdefault(i, []).append(n)

    def float_matrix(self, name):
        t = self.inits.get(name)
        if t is None or t.data_type != TensorProto.FLOAT or len(t.dims) != 2:
            return None
        return t


def weight_of(gi, matmul):
    """(initializer, transposed) if the MatMul's B is a constant 2-D float matrix, else None."""
    b = matmul.input[1]
    t = gi.float_matrix(b)
    if t is not None:
        return t, None
    p = gi.producer.get(b)
    if p is not None and p.op_type == 'Transpose' and len(p.input) == 1:
        perm = [list(a.ints) for a in p.attribute if a.name == 'perm']
        t = gi.float_matrix(p.input[0])
        if t is not None and (not perm or perm[0] == [1, 0]):
            return t, p
    return None


def weight_kn(t, transpose_node):
    """B as MatMul sees it: [K, N] float32."""
    w = numpy_helper.to_array(t).astype(np.float32)
    return np.ascontiguousarray(w.T) if transpose_node is not None else w


def finish(model, gi, new_nodes, bypassed, new_inits, meta, extra_opsets=()):
    """Replace the node list, drop the Transposes and fp32 initializers nothing uses any more, add new initializers."""
    g = model.graph
    used = set()
    for n in new_nodes:
        used.update(i for i in n.input if i)
    graph_outputs = {o.name for o in g.output}
    kept = []
    for n in new_nodes:
        if id(n) in bypassed and not any(o in used or o in graph_outputs for o in n.output):
            continue
        kept.append(n)
    used = set()
    for n in kept:
        used.update(i for i in n.input if i)
    del g.node[:]
    g.node.extend(kept)
    old = list(g.initializer)
    del g.initializer[:]
    g.initializer.extend([t for t in old if t.name in used or t.name in graph_outputs])
    g.initializer.extend(new_inits)
    for dom, ver in extra_opsets:
        if not any(o.domain == dom for o in model.opset_import):
            model.opset_import.append(helper.make_opsetid(dom, ver))
    for k, v in meta.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=k, value=str(v)))
    return model


def check_io_unchanged(src, dst):
    a = [(v.name, v.type.SerializeToString()) for v in list(src.graph.input) + list(src.graph.output)]
    b = [(v.name, v.type.SerializeToString()) for v in list(dst.graph.input) + list(dst.graph.output)]
    if a != b:
        raise SystemExit('graph inputs/outputs changed')


# ---------------------------------------------------------------------------------------------------- int8

def quantize_int8_weight(w, per_channel, reduce_range):
    """Symmetric int8 for B [K, N]: returns q int8 [K, N], scale float32 (scalar or [N])."""
    qmax = 64 if reduce_range else 127
    m = np.abs(w).max(axis=0) if per_channel else np.abs(w).max()
    m = np.asarray(m, dtype=np.float32)
    scale = np.where(m > 0, m / np.float32(qmax), np.float32(1.0)).astype(np.float32)
    q = np.clip(np.rint(w / scale), -qmax, qmax).astype(np.int8)
    return q, scale


def is_lm_head(gi, matmul, t):
    """The output projection: writes a graph output, or its weight is tied to an embedding Gather."""
    outs = {o.name for o in gi.graph.output}
    return matmul.output[0] in outs or any(c.op_type == 'Gather' and c.input[0] == t.name for c in gi.consumers.get(t.name, []))


def int8(model, per_channel=True, reduce_range=False, keep_lm_head=True, gather='fp32'):
    g = model.graph
    gi = GraphIndex(g)
    new_nodes, new_inits, bypassed = [], [], set()
    dql_done = {}       # activation name -> (quantized, scale, zero point)
    wq_done = {}        # initializer name (+T) -> (q name, scale name, zp name)
    shared_rows = {}    # initializer name -> (q rows [V, D] name, row scales [V, 1] name, row scales [V] name)
    count = {'MatMul': 0, 'Gather': 0}

    # Per-row int8 for Gather tables (and, shared, for the tied output projection).
    if gather == 'int8':
        for n in g.node:
            if n.op_type == 'Gather' and gi.float_matrix(n.input[0]) is not None and not [a for a in n.attribute if a.name == 'axis' and a.i != 0]:
                t = gi.inits[n.input[0]]
                if t.name in shared_rows:
                    continue
                w = numpy_helper.to_array(t).astype(np.float32)      # [V, D]: rows are what Gather reads
                q, s = quantize_int8_weight(np.ascontiguousarray(w.T), True, reduce_range)  # per row of w
                qn, sn = t.name + '_quantized', t.name + '_row_scale'
                new_inits += [numpy_helper.from_array(np.ascontiguousarray(q.T), qn),
                              numpy_helper.from_array(s.reshape(-1, 1), sn)]
                shared_rows[t.name] = (qn, sn, s.reshape(-1))

    for n in g.node:
        if n.op_type == 'Gather' and gather == 'int8' and n.input[0] in shared_rows:
            qn, sn, _ = shared_rows[n.input[0]]
            o = n.output[0]
            base = n.name or o
            new_nodes += [
                helper.make_node('Gather', [qn, n.input[1]], [o + '_quantized'], base + '_quant', axis=0),
                helper.make_node('Gather', [sn, n.input[1]], [o + '_scale'], base + '_scale', axis=0),
                helper.make_node('Cast', [o + '_quantized'], [o + '_cast'], base + '_cast', to=TensorProto.FLOAT),
                helper.make_node('Mul', [o + '_cast', o + '_scale'], [o], base + '_dequant'),
            ]
            count['Gather'] += 1
            continue
        wt = weight_of(gi, n) if n.op_type == 'MatMul' else None
        if wt is None or (keep_lm_head and is_lm_head(gi, n, wt[0])):
            new_nodes.append(n)
            continue
        t, tr = wt
        a = n.input[0]
        if a not in dql_done:
            dql_done[a] = (a + '_quantized', a + '_scale', a + '_zero_point')
            new_nodes.append(helper.make_node('DynamicQuantizeLinear', [a], list(dql_done[a]), a + '_QuantizeLinear'))
        aq, asc, azp = dql_done[a]
        if t.name in shared_rows and tr is not None:
            # Tied output projection: B = Transpose(int8 rows), per-column scale = the row scales.
            qn, _, srow = shared_rows[t.name]
            key = t.name + '^T'
            if key not in wq_done:
                zn, s1 = t.name + '_zero_point', t.name + '_scale'
                new_inits += [numpy_helper.from_array(np.zeros(srow.shape, np.int8), zn), numpy_helper.from_array(srow, s1)]
                new_nodes.append(helper.make_node('Transpose', [qn], [qn + '_transposed'], tr.name + '_quant', perm=[1, 0]))
                wq_done[key] = (qn + '_transposed', s1, zn)
            wq, wsc, wzp = wq_done[key]
        else:
            key = t.name + ('^T' if tr is not None else '')
            if key not in wq_done:
                w = weight_kn(t, tr)
                q, s = quantize_int8_weight(w, per_channel, reduce_range)
                stem = t.name + ('_T' if tr is not None else '')
                wq, wsc, wzp = stem + '_quantized', stem + '_scale', stem + '_zero_point'
                new_inits += [numpy_helper.from_array(q, wq), numpy_helper.from_array(s, wsc),
                              numpy_helper.from_array(np.zeros(s.shape, np.int8), wzp)]
                wq_done[key] = (wq, wsc, wzp)
            wq, wsc, wzp = wq_done[key]
        if tr is not None:
            bypassed.add(id(tr))
        o = n.output[0]
        name = (n.name or o) + '_quant'
        new_nodes += [
            helper.make_node('MatMulInteger', [aq, wq, azp, wzp], [o + '_output_quantized'], name),
            helper.make_node('Cast', [o + '_output_quantized'], [o + '_output_quantized_cast_output'],
                             o + '_output_quantized_cast', to=TensorProto.FLOAT),
            helper.make_node('Mul', [asc, wsc], [name + '_scales_mul:0'], name + '_scales_mul'),
            helper.make_node('Mul', [o + '_output_quantized_cast_output', name + '_scales_mul:0'], [o], name + '_output_scale_mul'),
        ]
        count['MatMul'] += 1
    meta = {'lens.quantization': 'int8 dynamic (DynamicQuantizeLinear uint8 activations + MatMulInteger int8 weights, symmetric)',
            'lens.quantization.per_channel': int(per_channel), 'lens.quantization.reduce_range': int(reduce_range),
            'lens.quantization.lm_head': 'fp32' if keep_lm_head else 'int8', 'lens.quantization.gather': gather,
            'lens.quantization.matmuls': count['MatMul'], 'lens.quantization.gathers': count['Gather']}
    return finish(model, gi, new_nodes, bypassed, new_inits, meta), count


# ---------------------------------------------------------------------------------------------------- q4

def roundf(x):
    """C roundf: half away from zero (float32)."""
    return (np.sign(x) * np.floor(np.abs(x) + np.float32(0.5))).astype(np.float32)


def quantize_q4_weight(w, block_size, symmetric):
    """B [K, N] float32 -> packed [N, k_blocks, block_size/2] uint8, scales [N*k_blocks] float32,
    zero points [N*ceil(k_blocks/2)] uint8 (None if symmetric)."""
    K, N = w.shape
    kb = (K + block_size - 1) // block_size
    pad = kb * block_size - K
    wt = np.ascontiguousarray(w.T)                                 # [N, K]: blocks are contiguous along K
    if pad:
        wt = np.pad(wt, ((0, 0), (0, pad)))
    blocks = wt.reshape(N, kb, block_size).astype(np.float32)
    mn = blocks.min(axis=2)
    mx = blocks.max(axis=2)
    if symmetric:
        m = np.where(np.abs(mx) > np.abs(mn), mx, mn)
        scale = (m / np.float32(-8.0)).astype(np.float32)
        zp = np.full((N, kb), 8, np.float32)
    else:
        mn = np.minimum(mn, 0).astype(np.float32)
        mx = np.maximum(mx, 0).astype(np.float32)
        scale = ((mx - mn) / np.float32(15.0)).astype(np.float32)
        with np.errstate(divide='ignore', invalid='ignore'):
            zfp = np.where(scale != 0, np.float32(0.0) - mn / scale, mn).astype(np.float32)
        zp = np.clip(roundf(zfp), 0, 15)
    with np.errstate(divide='ignore'):
        rec = np.where(scale != 0, np.float32(1.0) / scale, np.float32(0.0)).astype(np.float32)
    q = np.clip(roundf(blocks * rec[:, :, None] + zp[:, :, None]), 0, 15).astype(np.uint8)
    packed = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)  # [N, kb, bs/2], first value low nibble
    scales = scale.reshape(-1).astype(np.float32)
    zps = None
    if not symmetric:
        z = zp.astype(np.uint8)
        if kb % 2:
            z = np.pad(z, ((0, 0), (0, 1)))
        zps = (z[:, 0::2] | (z[:, 1::2] << 4)).astype(np.uint8).reshape(-1)
    return packed, scales, zps


def dequantize_q4(packed, scales, zps, K, block_size):
    """Reference dequantization (for the self-check): returns B [K, N]."""
    N, kb, _ = packed.shape
    q = np.empty((N, kb, block_size), np.float32)
    q[:, :, 0::2] = packed & 0xF
    q[:, :, 1::2] = packed >> 4
    if zps is None:
        zp = np.full((N, kb), 8, np.float32)
    else:
        z = zps.reshape(N, -1)
        zp = np.empty((N, z.shape[1] * 2), np.float32)
        zp[:, 0::2] = z & 0xF
        zp[:, 1::2] = z >> 4
        zp = zp[:, :kb]
    w = (q - zp[:, :, None]) * scales.reshape(N, kb)[:, :, None]
    return np.ascontiguousarray(w.reshape(N, kb * block_size)[:, :K].T)


def q4(model, block_size=32, symmetric=False, keep_lm_head=True, accuracy_level=0):
    if block_size < 16 or block_size & (block_size - 1):
        raise SystemExit('block size must be a power of 2 and >= 16')
    g = model.graph
    gi = GraphIndex(g)
    new_nodes, new_inits, bypassed = [], [], set()
    done = {}
    count = 0
    worst = 0.0
    for n in g.node:
        wt = weight_of(gi, n) if n.op_type == 'MatMul' else None
        if wt is not None and keep_lm_head and is_lm_head(gi, n, wt[0]):
            wt = None
        if wt is None:
            new_nodes.append(n)
            continue
        t, tr = wt
        w = weight_kn(t, tr)
        K, N = w.shape
        key = t.name + ('^T' if tr is not None else '')
        if key not in done:
            packed, scales, zps = quantize_q4_weight(w, block_size, symmetric)
            err = np.abs(dequantize_q4(packed, scales, zps, K, block_size) - w).max() / max(np.abs(w).max(), 1e-30)
            worst = max(worst, float(err))
            stem = t.name + ('_T' if tr is not None else '')
            names = [stem + '_Q4', stem + '_scales']
            new_inits += [numpy_helper.from_array(packed, names[0]), numpy_helper.from_array(scales, names[1])]
            if zps is not None:
                names.append(stem + '_zero_points')
                new_inits.append(numpy_helper.from_array(zps, names[2]))
            done[key] = names
        if tr is not None:
            bypassed.add(id(tr))
        attrs = dict(K=K, N=N, bits=4, block_size=block_size)
        if accuracy_level:
            attrs['accuracy_level'] = accuracy_level
        new_nodes.append(helper.make_node('MatMulNBits', [n.input[0]] + done[key], [n.output[0]],
                                          (n.name or n.output[0]) + '_Q4', domain=MS_DOMAIN, **attrs))
        count += 1
    # One q4 step is at most half a step of the block's range away from the weight.
    if worst > (1.0 / 15 if not symmetric else 1.0 / 8) + 1e-6:
        raise SystemExit(f'q4 self-check failed: max relative dequantization error {worst}')
    meta = {'lens.quantization': f'q4 MatMulNBits bits=4 block_size={block_size} ' + ('symmetric' if symmetric else 'asymmetric'),
            'lens.quantization.lm_head': 'fp32' if keep_lm_head else 'q4', 'lens.quantization.matmuls': count,
            'lens.quantization.accuracy_level': accuracy_level}
    return finish(model, gi, new_nodes, bypassed, new_inits, meta, [(MS_DOMAIN, 1)]), {'MatMul': count, 'maxRelErr': worst}


# ---------------------------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    a8 = sub.add_parser('int8')
    a4 = sub.add_parser('q4')
    for p in (a8, a4):
        p.add_argument('model_dir')
        p.add_argument('--out-dir', help='where to write (default MODEL_DIR/onnx)')
        p.add_argument('--out-name', help='file name (default model_int8.onnx / model_q4.onnx)')
    a8.add_argument('--per-tensor', action='store_true', help='one weight scale per matrix (default: per output channel)')
    a8.add_argument('--reduce-range', action='store_true', help='7-bit weights ([-64, 64]), for AVX2 machines without VNNI')
    a8.add_argument('--lm-head', choices=['fp32', 'int8'], help='output projection (default fp32; int8 with --gather int8)')
    a8.add_argument('--gather', choices=['fp32', 'int8'], default='fp32',
                    help='embedding Gathers (default fp32); int8 shares one int8 matrix with the output projection')
    a4.add_argument('--block-size', type=int, default=32)
    a4.add_argument('--symmetric', action='store_true', help='no zero points (default asymmetric, with zero points)')
    a4.add_argument('--lm-head', choices=['fp32', 'q4'], default='fp32', help='output projection (default fp32)')
    a4.add_argument('--accuracy-level', type=int, default=0, help='MatMulNBits accuracy_level (default unset)')
    args = ap.parse_args()

    src_path = os.path.join(args.model_dir, 'onnx', 'model.onnx')
    src = onnx.load(src_path)
    model = onnx.load(src_path)
    if args.cmd == 'int8':
        lm = args.lm_head or ('int8' if args.gather == 'int8' else 'fp32')
        if args.gather == 'int8' and lm != 'int8':
            raise SystemExit('--gather int8 shares the int8 embedding matrix with the output projection: needs --lm-head int8')
        out, info = int8(model, per_channel=not args.per_tensor, reduce_range=args.reduce_range,
                         keep_lm_head=lm == 'fp32', gather=args.gather)
        name = args.out_name or 'model_int8.onnx'
    else:
        out, info = q4(model, block_size=args.block_size, symmetric=args.symmetric,
                       keep_lm_head=args.lm_head == 'fp32', accuracy_level=args.accuracy_level)
        name = args.out_name or 'model_q4.onnx'
    check_io_unchanged(src, out)
    onnx.checker.check_model(out)
    out_dir = args.out_dir or os.path.join(args.model_dir, 'onnx')
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name)
    onnx.save(out, path)
    ops = {}
    for n in out.graph.node:
        k = (n.domain + '.' if n.domain else '') + n.op_type
        ops[k] = ops.get(k, 0) + 1
    print(f'{path}: {os.path.getsize(path):,} bytes (from {os.path.getsize(src_path):,}); {info}')
    print('  nodes: ' + ', '.join(f'{k} {v}' for k, v in sorted(ops.items())))


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python3
"""Build the training corpus and the validation sets from the npm packages pinned in corpus/package.json.

Reads tools/model-kit/work/corpus-npm/node_modules (npm install --ignore-scripts), keeps text files of
packages whose license is permissive, de-duplicates by content, splits train/validation BY FILE with a
fixed seed, and writes:
  work/train_code.txt, work/train_prose.txt   (files joined by '\n\n' — only used for training)
  work/train_files.jsonl                      (one {"source","text","kind"} per training file)
  validation/code.jsonl, validation/prose.jsonl (committed; {"source","text"} per line)
  corpus-manifest.json                         (committed)
"""
import hashlib, json, os, random, re, sys

KIT = os.path.dirname(os.path.abspath(__file__))
NM = os.path.join(KIT, 'work', 'corpus-npm', 'node_modules')
SEED = 1234
PERMISSIVE = {'MIT', 'APACHE-2.0', 'BSD-2-CLAUSE', 'BSD-3-CLAUSE', 'ISC', '0BSD', 'CC0-1.0', 'UNLICENSE',
              'BLUEOAK-1.0.0', 'MIT-0', 'CC-BY-4.0', 'PYTHON-2.0'}
CODE_EXT = ('.d.ts', '.ts', '.js', '.mjs', '.cjs', '.mts', '.cts', '.tsx', '.jsx')
SKIP_DIRS = {'esm5', 'umd', 'bundles', 'min', 'fesm2015', 'fesm2020', 'fesm2022', 'test', 'tests', '__tests__', 'locale', 'locales'}
MAX_FILE = 400_000          # bytes; bigger files are bundles (typescript.js is 9 MB)
CODE_BUDGET = 26_000_000    # bytes of training code (prose is taken whole)
VAL_TARGET = 200_000        # bytes per validation set
VAL_MIN, VAL_MAX = 1_500, 24_000  # validation files are picked among files of this size


def license_ok(lic):
    if isinstance(lic, dict):
        lic = lic.get('type')
    if isinstance(lic, list):
        lic = ' OR '.join(x.get('type', '') if isinstance(x, dict) else str(x) for x in lic)
    if not isinstance(lic, str):
        return False, str(lic)
    ids = re.findall(r'[A-Za-z0-9.\-+]+', lic)
    ids = [i for i in ids if i.upper() not in ('OR', 'AND', 'WITH')]
    if ' AND ' in lic.upper():
        return all(i.upper() in PERMISSIVE for i in ids), lic
    return any(i.upper() in PERMISSIVE for i in ids), lic


def kind_of(name):
    low = name.lower()
    if low.endswith('.md'):
        return None if ('license' in low or 'notice' in low) else 'prose'
    if low.endswith(CODE_EXT) and '.min.' not in low:
        return 'code'
    return None


def packages():
    out = []
    for dp, dns, fns in os.walk(NM):
        if 'package.json' in fns and os.path.basename(os.path.dirname(dp)) in ('node_modules',) or (
                'package.json' in fns and os.path.basename(os.path.dirname(os.path.dirname(dp))) == 'node_modules'
                and os.path.basename(os.path.dirname(dp)).startswith('@')):
            try:
                meta = json.load(open(os.path.join(dp, 'package.json'), encoding='utf-8'))
            except Exception:
                continue
            if 'name' in meta and 'version' in meta:
                out.append((dp, meta))
    out.sort(key=lambda x: x[0])
    return out


def looks_generated(text):
    lines = text.split('\n')
    if not lines:
        return True
    long = sum(1 for l in lines if len(l) > 500)
    if 'sourceMappingURL=data:' in text or any(len(l) > 2000 for l in lines):
        return True
    return long > 3 or len(text) / max(1, len(lines)) > 200


def main():
    rng = random.Random(SEED)
    seen = set()
    files = []  # (kind, source, text, pkgkey)
    manifest = {}
    for pdir, meta in packages():
        ok, lic = license_ok(meta.get('license', meta.get('licenses')))
        key = f"{meta['name']}@{meta['version']}"
        if not ok:
            manifest[key] = {'package': meta['name'], 'version': meta['version'], 'license': lic, 'excluded': 'license'}
            continue
        entry = manifest.setdefault(key, {'package': meta['name'], 'version': meta['version'], 'license': lic,
                                          'files': 0, 'bytes': 0, 'train': {'files': 0, 'bytes': 0},
                                          'validation': {'files': 0, 'bytes': 0}, 'unused': {'files': 0, 'bytes': 0}})
        for dp, dns, fns in os.walk(pdir):
            dns[:] = sorted(d for d in dns if d != 'node_modules' and d not in SKIP_DIRS and not d.startswith('.'))
            for f in sorted(fns):
                kind = kind_of(f)
                if not kind:
                    continue
                p = os.path.join(dp, f)
                size = os.path.getsize(p)
                if size < 200 or size > MAX_FILE:
                    continue
                try:
                    text = open(p, 'rb').read().decode('utf-8')
                except UnicodeDecodeError:
                    continue
                if kind == 'code' and looks_generated(text):
                    continue
                h = hashlib.sha1(text.encode('utf-8')).hexdigest()
                if h in seen:
                    continue
                seen.add(h)
                rel = os.path.relpath(p, pdir).replace(os.sep, '/')
                files.append((kind, f"{key}/{rel}", text, key))
    files.sort(key=lambda x: x[1])
    rng.shuffle(files)
    val = {'code': [], 'prose': []}
    vbytes = {'code': 0, 'prose': 0}
    train = []
    code_bytes = 0
    for kind, src, text, key in files:
        n = len(text.encode('utf-8'))
        e = manifest[key]
        e['files'] += 1
        e['bytes'] += n
        if vbytes[kind] < VAL_TARGET and VAL_MIN <= n <= VAL_MAX:
            val[kind].append({'source': src, 'text': text})
            vbytes[kind] += n
            e['validation']['files'] += 1
            e['validation']['bytes'] += n
            continue
        if kind == 'code' and code_bytes + n > CODE_BUDGET:
            e['unused']['files'] += 1
            e['unused']['bytes'] += n
            continue
        if kind == 'code':
            code_bytes += n
        train.append((kind, src, text))
        e['train']['files'] += 1
        e['train']['bytes'] += n
    os.makedirs(os.path.join(KIT, 'validation'), exist_ok=True)
    for kind in val:
        val[kind].sort(key=lambda r: r['source'])
        with open(os.path.join(KIT, 'validation', f'{kind}.jsonl'), 'w', encoding='utf-8', newline='\n') as fh:
            for r in val[kind]:
                fh.write(json.dumps(r, ensure_ascii=False) + '\n')
    with open(os.path.join(KIT, 'work', 'train_files.jsonl'), 'w', encoding='utf-8') as fh:
        for kind, src, text in train:
            fh.write(json.dumps({'source': src, 'kind': kind, 'text': text}, ensure_ascii=False) + '\n')
    totals = {'train': {'code': 0, 'prose': 0}, 'trainFiles': {'code': 0, 'prose': 0}}
    for kind, src, text in train:
        totals['train'][kind] += len(text.encode('utf-8'))
        totals['trainFiles'][kind] += 1
    man = {
        'description': 'Text corpus of the Perplexity Lens model kit: files of permissively licensed npm packages '
                       '(see corpus/package.json), de-duplicated by content, split train/validation by file.',
        'seed': SEED,
        'rules': {'codeExtensions': list(CODE_EXT), 'proseExtensions': ['.md'], 'maxFileBytes': MAX_FILE,
                  'skippedDirectories': sorted(SKIP_DIRS), 'codeBudgetBytes': CODE_BUDGET,
                  'validationTargetBytes': VAL_TARGET, 'validationFileBytes': [VAL_MIN, VAL_MAX],
                  'licensesAccepted': sorted(PERMISSIVE)},
        'totals': {'trainBytes': totals['train'], 'trainFiles': totals['trainFiles'],
                   'validationBytes': vbytes, 'validationFiles': {k: len(v) for k, v in val.items()}},
        'validation': {k: [r['source'] for r in v] for k, v in val.items()},
        'packages': [manifest[k] for k in sorted(manifest) if manifest[k].get('excluded') or manifest[k]['files'] > 0],
    }
    with open(os.path.join(KIT, 'corpus-manifest.json'), 'w', encoding='utf-8', newline='\n') as fh:
        json.dump(man, fh, indent=1, ensure_ascii=False)
        fh.write('\n')
    print(json.dumps(man['totals']))


if __name__ == '__main__':
    main()

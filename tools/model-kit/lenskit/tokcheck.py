"""Write Python-side ids of the check texts for check_tokenizers.cjs."""
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lenskit import tok

KIT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(KIT))
EXTRA = [
    'Hello, world! The quick brown fox jumps over the lazy dog.',
    'Emoji 😀👍🏽 and 👨‍👩‍👧 families, CJK 漢字かなカナ 한국어, combining e\u0301 a\u0308 n\u0303, RTL שלום مرحبا.',
    'line one\r\nline two\r\n\r\n\ttabbed  double  spaces   \u00a0nbsp \u3000ideographic space\ufeffbom\n',
    '  leading spaces and trailing   ',
    "it's they're we've I'm you'll he'd 'quoted' ''",
    'const x: Map<string, number[]> = new Map(); // <s> </s> <unk> <|endoftext|> <0x41>',
    'numbers 1234567890 3.14159 0xFF 1e-9 ١٢٣ ⅷ',
    '\u2581 literal metaspace and \u0000 nul \u001f unit sep \u0085 nel \u2028 ls',
    ' ', '\n', 'a', '😀',
]


def main(names):
    texts = EXTRA[:]
    for kind in ('code', 'prose'):
        for line in open(os.path.join(KIT, 'validation', kind + '.jsonl'), encoding='utf-8'):
            texts.append(json.loads(line)['text'])
    out_dir = os.path.join(KIT, 'work', 'tokcheck')
    os.makedirs(out_dir, exist_ok=True)
    for name in names:
        enc = tok.load(os.path.join(ROOT, 'models', name, 'tokenizer.json'))
        ids = [enc.encode(t) for t in texts]
        json.dump({'texts': texts, 'ids': ids}, open(os.path.join(out_dir, name + '.json'), 'w', encoding='utf-8'), ensure_ascii=False)
        print(name, sum(map(len, ids)), 'tokens')


if __name__ == '__main__':
    main(sys.argv[1:] or ['lens-gpt2-bpe4k', 'lens-gpt2-byte', 'lens-llama-sp'])

"""Tokenizer trainers and encoders written in plain Python (no `tokenizers` package here).

Three families, each saved as a Hugging Face tokenizer.json + tokenizer_config.json and checked against
@huggingface/tokenizers 0.2.0 (tools/model-kit/check_tokenizers.cjs):
  * byte-level BPE (GPT-2 style): ByteLevel pre-tokenizer with GPT-2's regex, ByteLevel decoder.
  * pure bytes: 256 byte-level symbols (id == byte value) + <|endoftext|>, ByteLevel(use_regex=false), no merges.
  * SentencePiece-style BPE as Llama 2 ships it: normalizer Prepend("▁") + Replace(" " -> "▁"), no
    pre-tokenizer (BPE runs over the whole text), byte_fallback with <0x00>..<0xFF>, <unk>=0 <s>=1 </s>=2.
The encoders reproduce the JS library's algorithm exactly (same regex semantics, rank-ordered merges with
leftmost tie-breaking), which is what makes the ids identical.
"""
import collections
import heapq
import json

import regex

EOT = '<|endoftext|>'

# ---------------------------------------------------------------- byte <-> unicode table (GPT-2)


def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('\xa1'), ord('\xac') + 1)) + list(range(ord('\xae'), ord('\xff') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


B2U = bytes_to_unicode()
U2B = {v: k for k, v in B2U.items()}

# JavaScript's \s (with the u flag): WhiteSpace + LineTerminator. Python's \s differs (\x1c-\x1f, \x85, no \ufeff).
JS_WS = '\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff'
GPT2_PAT = regex.compile(
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" + JS_WS + "\\p{L}\\p{N}]+|[" + JS_WS + "]+(?![^" + JS_WS + "])|[" + JS_WS + "]+")


def split_specials(text, specials):
    """Split text on special-token strings (longest match, left to right), like DictionarySplitter."""
    if not specials or not any(s in text for s in specials):
        return [text] if text else []
    pat = '|'.join(regex.escape(s) for s in sorted(specials, key=len, reverse=True))
    out = []
    pos = 0
    for m in regex.finditer(pat, text):
        if m.start() > pos:
            out.append(text[pos:m.start()])
        out.append(m.group(0))
        pos = m.end()
    if pos < len(text):
        out.append(text[pos:])
    return out


def byte_level(s):
    return ''.join(B2U[b] for b in s.encode('utf-8'))


# ---------------------------------------------------------------- generic BPE training on word counts


def train_bpe(word_counts, base_symbols, n_merges, forbidden=(), log=None):
    """word_counts: {tuple(symbols): count}. Returns list of merges (a, b) in rank order.
    Ties are broken by the lexicographically smallest pair, so training is deterministic."""
    words = [list(w) for w in word_counts]
    counts = [word_counts[w] for w in word_counts]
    pair_counts = collections.Counter()
    where = collections.defaultdict(set)
    for i, w in enumerate(words):
        c = counts[i]
        for a, b in zip(w, w[1:]):
            pair_counts[(a, b)] += c
            where[(a, b)].add(i)
    heap = [(-c, p) for p, c in pair_counts.items()]
    heapq.heapify(heap)
    merges = []
    vocab = set(base_symbols)
    forbidden = set(forbidden)
    while len(merges) < n_merges and heap:
        negc, pair = heapq.heappop(heap)
        c = pair_counts.get(pair, 0)
        if c <= 0:
            continue
        if -negc != c:
            heapq.heappush(heap, (-c, pair))
            continue
        a, b = pair
        new = a + b
        if new in forbidden or new in vocab:
            pair_counts[pair] = 0
            continue
        merges.append(pair)
        vocab.add(new)
        changed = collections.Counter()
        for i in list(where[pair]):
            w = words[i]
            cnt = counts[i]
            j = 0
            out = []
            found = False
            while j < len(w):
                if j < len(w) - 1 and w[j] == a and w[j + 1] == b:
                    out.append(new)
                    j += 2
                    found = True
                else:
                    out.append(w[j])
                    j += 1
            if not found:
                continue
            for x, y in zip(w, w[1:]):
                changed[(x, y)] -= cnt
            for x, y in zip(out, out[1:]):
                changed[(x, y)] += cnt
                where[(x, y)].add(i)
            words[i] = out
        for p, d in changed.items():
            if d == 0:
                continue
            pair_counts[p] += d
            if d > 0:
                heapq.heappush(heap, (-pair_counts[p], p))
        pair_counts[pair] = 0
        if log and len(merges) % 500 == 0:
            log(f'  merges {len(merges)}: {a!r}+{b!r} count {c}')
    return merges


def bpe_apply(symbols, ranks):
    """Rank-ordered BPE on a list of symbols (leftmost occurrence first on equal rank)."""
    w = list(symbols)
    if len(w) < 2:
        return w
    while True:
        best = None
        best_rank = None
        for i in range(len(w) - 1):
            r = ranks.get((w[i], w[i + 1]))
            if r is not None and (best_rank is None or r < best_rank):
                best_rank = r
                best = (w[i], w[i + 1])
        if best is None:
            return w
        a, b = best
        out = []
        i = 0
        while i < len(w):
            if i < len(w) - 1 and w[i] == a and w[i + 1] == b:
                out.append(a + b)
                i += 2
            else:
                out.append(w[i])
                i += 1
        w = out
        if len(w) < 2:
            return w


def bpe_apply_long(symbols, ranks):
    """Same result as bpe_apply, heap-based with a linked list (for long inputs)."""
    n = len(symbols)
    if n < 64:
        return bpe_apply(symbols, ranks)
    tok = list(symbols)
    nxt = list(range(1, n)) + [-1]
    prv = list(range(-1, n - 1))
    alive = [True] * n
    heap = []
    for i in range(n - 1):
        r = ranks.get((tok[i], tok[i + 1]))
        if r is not None:
            heap.append((r, i, tok[i], tok[i + 1]))
    heapq.heapify(heap)
    while heap:
        r, i, a, b = heapq.heappop(heap)
        if not alive[i] or tok[i] != a:
            continue
        j = nxt[i]
        if j < 0 or tok[j] != b:
            continue
        tok[i] = a + b
        alive[j] = False
        nxt[i] = nxt[j]
        if nxt[j] >= 0:
            prv[nxt[j]] = i
        p = prv[i]
        if p >= 0:
            r2 = ranks.get((tok[p], tok[i]))
            if r2 is not None:
                heapq.heappush(heap, (r2, p, tok[p], tok[i]))
        k = nxt[i]
        if k >= 0:
            r2 = ranks.get((tok[i], tok[k]))
            if r2 is not None:
                heapq.heappush(heap, (r2, i, tok[i], tok[k]))
    out = []
    i = 0
    while i >= 0 and i < n:
        out.append(tok[i])
        i = nxt[i]
    return out


# ---------------------------------------------------------------- byte-level BPE (GPT-2 style)


class ByteLevelBPE:
    def __init__(self, vocab, merges, specials=(EOT,)):
        self.vocab = vocab  # token -> id
        self.merges = merges
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}
        self.specials = list(specials)
        self.cache = {}

    @classmethod
    def train(cls, texts, vocab_size, log=print):
        counts = collections.Counter()
        for t in texts:
            for piece in split_specials(t, [EOT]):
                if piece == EOT:
                    continue
                counts.update(GPT2_PAT.findall(piece))
        log(f'  {len(counts)} distinct pre-tokens')
        wc = collections.Counter()
        for w, c in counts.items():
            wc[tuple(byte_level(w))] += c
        base = [B2U[b] for b in range(256)]
        merges = train_bpe(wc, base, vocab_size - 256 - 1, forbidden={EOT}, log=log)
        vocab = {s: i for i, s in enumerate(base)}
        for a, b in merges:
            if a + b not in vocab:
                vocab[a + b] = len(vocab)
        vocab[EOT] = len(vocab)
        return cls(vocab, [list(m) for m in merges])

    def encode_word(self, w):
        r = self.cache.get(w)
        if r is None:
            r = bpe_apply_long(list(byte_level(w)), self.ranks)
            if len(self.cache) < 500000:
                self.cache[w] = r
        return r

    def encode(self, text):
        ids = []
        for piece in split_specials(text, self.specials):
            if piece in self.specials:
                ids.append(self.vocab[piece])
                continue
            for w in GPT2_PAT.findall(piece):
                ids.extend(self.vocab[t] for t in self.encode_word(w))
        return ids

    def tokenizer_json(self):
        eot_id = self.vocab[EOT]
        return {
            'version': '1.0', 'truncation': None, 'padding': None,
            'added_tokens': [added(eot_id, EOT)],
            'normalizer': None,
            'pre_tokenizer': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
            'post_processor': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': False, 'use_regex': True},
            'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
            'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': '',
                      'end_of_word_suffix': '', 'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
                      'vocab': self.vocab, 'merges': [' '.join(m) for m in self.merges]},
        }


def added(i, s):
    return {'id': i, 'content': s, 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False, 'special': True}


def gpt2_config(max_len, cls='GPT2Tokenizer'):
    return {
        'add_bos_token': False, 'add_eos_token': False, 'add_prefix_space': False,
        'bos_token': EOT, 'eos_token': EOT, 'unk_token': EOT,
        'clean_up_tokenization_spaces': False, 'errors': 'replace',
        'model_max_length': max_len, 'tokenizer_class': cls,
    }


# ---------------------------------------------------------------- pure bytes


class ByteTokenizer:
    def __init__(self):
        self.vocab = {B2U[b]: b for b in range(256)}
        self.vocab[EOT] = 256
        self.merges = []

    def encode(self, text):
        ids = []
        for piece in split_specials(text, [EOT]):
            if piece == EOT:
                ids.append(256)
            else:
                ids.extend(piece.encode('utf-8'))
        return ids

    def tokenizer_json(self):
        return {
            'version': '1.0', 'truncation': None, 'padding': None,
            'added_tokens': [added(256, EOT)],
            'normalizer': None,
            'pre_tokenizer': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': False},
            'post_processor': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': False, 'use_regex': False},
            'decoder': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': False},
            'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': '',
                      'end_of_word_suffix': '', 'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
                      'vocab': self.vocab, 'merges': []},
        }


# ---------------------------------------------------------------- SentencePiece-style BPE (Llama 2 layout)

SP = '\u2581'
SP_SPECIALS = ['<unk>', '<s>', '</s>']
BYTE_TOKENS = ['<0x%02X>' % b for b in range(256)]
# training units only: digits alone, letters with an optional leading ▁, punctuation runs, ▁ runs, other whitespace
SP_TRAIN_PAT = regex.compile(SP + '?\\p{L}+|' + SP + '?\\p{N}|' + SP + '?[^\\s\\p{L}\\p{N}' + SP + ']+|' + SP + '+(?=' + SP + ')|' + SP + '+|\\s+')


def sp_normalize(section):
    return SP + section.replace(' ', SP)


class SentencePieceBPE:
    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.merges = merges
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}
        # adjacent character pairs that occur inside some vocabulary token: a boundary between two characters that
        # do not form such a pair can never be crossed by a merge, so the whole-text BPE can be cut there exactly.
        self.inner_pairs = set()
        for t in vocab:
            if t in SP_SPECIALS or t in BYTE_TOKENS:
                continue
            for x, y in zip(t, t[1:]):
                self.inner_pairs.add((x, y))
        self.cache = {}

    @classmethod
    def train(cls, texts, vocab_size, coverage=0.9999, log=print):
        chars = collections.Counter()
        units = collections.Counter()
        for t in texts:
            for piece in split_specials(t, SP_SPECIALS):
                if piece in SP_SPECIALS:
                    continue
                norm = sp_normalize(piece)
                chars.update(norm)
                units.update(SP_TRAIN_PAT.findall(norm))
        total = sum(chars.values())
        keep = []
        acc = 0
        for ch, c in sorted(chars.items(), key=lambda x: (-x[1], x[0])):
            if acc / total >= coverage and ch != SP:
                break
            keep.append(ch)
            acc += c
        # U+FEFF must not go through byte fallback: the JS ByteFallback decoder's TextDecoder drops a leading BOM
        keep = sorted(set(keep) | {SP, '\ufeff'}, key=lambda ch: (-chars[ch], ch))
        log(f'  {len(chars)} distinct characters, {len(keep)} kept (coverage {coverage}), {len(units)} distinct units')
        keepset = set(keep)
        wc = collections.Counter()
        for u, c in units.items():
            cur = []
            for ch in u:
                if ch in keepset:
                    cur.append(ch)
                else:
                    if len(cur) > 1:
                        wc[tuple(cur)] += c
                    cur = []
            if len(cur) > 1:
                wc[tuple(cur)] += c
        n_base = len(SP_SPECIALS) + 256 + len(keep)
        forbidden = set(SP_SPECIALS) | set(BYTE_TOKENS)
        merges = train_bpe(wc, keep, vocab_size - n_base, forbidden=forbidden, log=log)
        vocab = {}
        for s in SP_SPECIALS + BYTE_TOKENS + keep:
            vocab[s] = len(vocab)
        final = []
        for a, b in merges:
            if len(vocab) >= vocab_size and a + b not in vocab:
                break
            final.append([a, b])
            if a + b not in vocab:
                vocab[a + b] = len(vocab)
        return cls(vocab, final)

    def _bpe_chunk(self, chunk):
        r = self.cache.get(chunk)
        if r is None:
            r = bpe_apply_long(list(chunk), self.ranks)
            if len(chunk) < 256 and len(self.cache) < 500000:
                self.cache[chunk] = r
        return r

    def encode_section(self, norm):
        ids = []
        start = 0
        ip = self.inner_pairs
        for i in range(1, len(norm) + 1):
            if i == len(norm) or (norm[i - 1], norm[i]) not in ip:
                for t in self._bpe_chunk(norm[start:i]):
                    tid = self.vocab.get(t)
                    if tid is not None:
                        ids.append(tid)
                    else:  # byte fallback (only single characters can be missing)
                        ids.extend(3 + b for b in t.encode('utf-8'))
                start = i
        return ids

    def encode(self, text):
        ids = []
        for piece in split_specials(text, SP_SPECIALS):
            if piece in SP_SPECIALS:
                ids.append(self.vocab[piece])
            else:
                ids.extend(self.encode_section(sp_normalize(piece)))
        return ids

    def tokenizer_json(self):
        return {
            'version': '1.0', 'truncation': None, 'padding': None,
            'added_tokens': [added(i, s) for i, s in enumerate(SP_SPECIALS)],
            'normalizer': {'type': 'Sequence', 'normalizers': [
                {'type': 'Prepend', 'prepend': SP},
                {'type': 'Replace', 'pattern': {'String': ' '}, 'content': SP}]},
            'pre_tokenizer': None,
            'post_processor': {
                'type': 'TemplateProcessing',
                'single': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
                'pair': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                         {'SpecialToken': {'id': '<s>', 'type_id': 1}}, {'Sequence': {'id': 'B', 'type_id': 1}}],
                'special_tokens': {'<s>': {'id': '<s>', 'ids': [1], 'tokens': ['<s>']}}},
            'decoder': {'type': 'Sequence', 'decoders': [
                {'type': 'Replace', 'pattern': {'String': SP}, 'content': ' '},
                {'type': 'ByteFallback'}, {'type': 'Fuse'},
                {'type': 'Strip', 'content': ' ', 'start': 1, 'stop': 0}]},
            'model': {'type': 'BPE', 'dropout': None, 'unk_token': '<unk>', 'continuing_subword_prefix': None,
                      'end_of_word_suffix': None, 'fuse_unk': True, 'byte_fallback': True, 'ignore_merges': False,
                      'vocab': self.vocab, 'merges': [' '.join(m) for m in self.merges]},
        }


def sp_config(max_len):
    return {
        'add_bos_token': True, 'add_eos_token': False,
        'bos_token': '<s>', 'eos_token': '</s>', 'unk_token': '<unk>', 'pad_token': None,
        'clean_up_tokenization_spaces': False, 'legacy': False,
        'model_max_length': max_len, 'tokenizer_class': 'LlamaTokenizerFast',
        'sp_model_kwargs': {}, 'spaces_between_special_tokens': False,
    }


def load(tokenizer_json_path):
    """Rebuild a Python encoder from a saved tokenizer.json."""
    tj = json.load(open(tokenizer_json_path, encoding='utf-8'))
    m = tj['model']
    merges = [x.split(' ', 1) if isinstance(x, str) else list(x) for x in m['merges']]
    if m.get('byte_fallback'):
        return SentencePieceBPE(m['vocab'], merges)
    if not merges:
        return ByteTokenizer()
    return ByteLevelBPE(m['vocab'], merges)

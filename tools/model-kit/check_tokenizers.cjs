// Checks that @huggingface/tokenizers 0.2.0 loads each tokenizer, gives exactly the ids of the Python encoder
// (work/tokcheck/<name>.json, written by lenskit/tokcheck.py) and round-trips every text.
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('@huggingface/tokenizers');
const ROOT = path.resolve(__dirname, '../..');
let bad = 0;
for (const name of process.argv.slice(2)) {
  const dir = path.join(ROOT, 'models', name);
  const tj = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
  const tc = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
  const t0 = Date.now();
  const tk = new Tokenizer(tj, tc);
  const load = Date.now() - t0;
  const ref = JSON.parse(fs.readFileSync(path.join(__dirname, 'work', 'tokcheck', name + '.json'), 'utf8'));
  let mism = 0, rt = 0, ntok = 0;
  const t1 = Date.now();
  ref.texts.forEach((text, i) => {
    const ids = tk.encode(text, { add_special_tokens: false }).ids;
    ntok += ids.length;
    const want = ref.ids[i];
    let same = ids.length === want.length && ids.every((x, j) => x === want[j]);
    if (!same) {
      mism++;
      let j = 0; while (j < ids.length && ids[j] === want[j]) j++;
      if (mism <= 3) console.log(`${name}: text ${i} differs at ${j}: js ${JSON.stringify(ids.slice(j, j + 8))} py ${JSON.stringify(want.slice(j, j + 8))} tokens js ${JSON.stringify(tk.encode(text, { add_special_tokens: false }).tokens.slice(j, j + 8))}`);
    }
    const special = /<\|endoftext\|>|<s>|<\/s>|<unk>/.test(text) || (name === 'lens-llama-sp' && text.includes('\u2581'));
    if (ids.length && !special) {
      const back = tk.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
      if (back !== text) { rt++; if (rt <= 3) console.log(`${name}: round-trip fails on text ${i}: ${JSON.stringify(back.slice(0, 80))} vs ${JSON.stringify(text.slice(0, 80))}`); }
    }
  });
  console.log(`${name}: ${ref.texts.length} texts, ${ntok} tokens, id mismatches ${mism}, round-trip failures ${rt}, load ${load} ms, encode ${Date.now() - t1} ms`);
  bad += mism + rt;
}
process.exit(bad ? 1 : 0);

import { test } from "node:test";
import assert from "node:assert/strict";
import { csvField, toCsv, toScoreReport } from "../../../src/extension/scoreExport";
import type { Metrics, ModelInfo, TokenScore } from "../../../src/core/types";

const tokens: TokenScore[] = [
  { id: 1, text: "Hi", start: 0, end: 2, logprob: null, prob: null, rank: null, entropy: null, top: [] },
  {
    id: 2,
    text: ', "you"\n',
    start: 2,
    end: 10,
    logprob: -1.5,
    prob: Math.exp(-1.5),
    rank: 3,
    entropy: 2,
    top: [
      { id: 9, text: ",", logprob: -0.5 },
      { id: 2, text: ', "you"\n', logprob: -1.5 },
    ],
    contextLength: 2,
  },
];

test("CSV fields are quoted only when needed", () => {
  assert.equal(csvField("plain"), "plain");
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField("a,b"), '"a,b"');
  assert.equal(csvField(" lead"), '" lead"');
  assert.equal(csvField(null), "");
  assert.equal(csvField(NaN), "");
  assert.equal(csvField(-1.5), "-1.5");
});

test("the CSV has one row per token and top-k columns", () => {
  const csv = toCsv(tokens);
  const lines = csv.split("\r\n");
  assert.equal(lines[0], "index,id,text,start,end,logprob,prob,rank,entropy,context_length,top1_id,top1_text,top1_logprob,top2_id,top2_text,top2_logprob");
  assert.equal(lines[1], "0,1,Hi,0,2,,,,,,,,,,,");
  assert.ok(csv.includes(`1,2,", ""you""\n",2,10,-1.5,${Math.exp(-1.5)},3,2,2,9,",",-0.5,2,", ""you""\n",-1.5`));
  assert.ok(csv.endsWith("\r\n"));
});

test("the JSON export is the command line's ScoreReport", () => {
  const model = { name: "m", path: "/m", architecture: "gpt2", vocabSize: 10, contextLength: 64, parameters: 100, numLayers: 2 } as unknown as ModelInfo;
  const metrics = { tokens: 2 } as Metrics;
  const report = toScoreReport(model, { method: { method: "sliding", window: 64, stride: 32, prefix: "eos:<|endoftext|>" }, metrics, tokens });
  assert.deepEqual(Object.keys(report), ["model", "method", "metrics", "tokens"]);
  assert.deepEqual(report.model, { name: "m", path: "/m", architecture: "gpt2", vocabSize: 10, contextLength: 64, parameters: 100 });
  assert.equal(report.tokens, tokens);
});

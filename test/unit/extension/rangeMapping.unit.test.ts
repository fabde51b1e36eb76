import { test } from "node:test";
import assert from "node:assert/strict";
import { mapRangeThroughEdit, mapRangesThroughEdits, type OffsetRange, type TextEdit } from "../../../src/extension/rangeMapping";

const insert = (offset: number, text: string): TextEdit => ({ offset, deletedLength: 0, insertedLength: text.length });
const replace = (offset: number, deletedLength: number, text: string): TextEdit => ({ offset, deletedLength, insertedLength: text.length });

test("ranges before an edit stay, ranges after it shift by the change in length", () => {
  // "The cat sat" tokens: [0,3) [3,7) [7,11); insert "big " at 4 → "The big cat sat"
  const ranges = [
    { start: 0, end: 3 },
    { start: 3, end: 7 },
    { start: 7, end: 11 },
  ];
  assert.deepEqual(mapRangesThroughEdits(ranges, [insert(8, "!!")]), [
    { start: 0, end: 3 },
    { start: 3, end: 7 },
  ]);
  assert.deepEqual(mapRangesThroughEdits(ranges, [insert(0, "Oh, ")]), [
    { start: 4, end: 7 },
    { start: 7, end: 11 },
    { start: 11, end: 15 },
  ]);
});

test("an insertion at a token boundary keeps both neighbours on their own text", () => {
  const ranges = [
    { start: 0, end: 3 },
    { start: 3, end: 7 },
  ];
  assert.deepEqual(mapRangesThroughEdits(ranges, [insert(3, "xy")]), [
    { start: 0, end: 3 },
    { start: 5, end: 9 },
  ]);
});

test("ranges the edit touches are dropped", () => {
  const ranges = [
    { start: 0, end: 3 },
    { start: 3, end: 7 },
    { start: 7, end: 11 },
  ];
  assert.deepEqual(mapRangesThroughEdits(ranges, [insert(5, "x")]), [
    { start: 0, end: 3 },
    { start: 8, end: 12 },
  ]);
  assert.deepEqual(mapRangesThroughEdits(ranges, [replace(2, 3, "")]), [{ start: 4, end: 8 }]);
  assert.deepEqual(mapRangesThroughEdits(ranges, [replace(0, 11, "new text")]), []);
});

test("the mapped ranges point at the same text as before the edit", () => {
  const before = "alpha beta gamma delta";
  const ranges = [...before.matchAll(/\S+/g)].map((m) => ({ start: m.index, end: m.index + m[0].length, word: m[0] }));
  const edit = replace(6, 4, "BETA!!");
  const after = before.slice(0, edit.offset) + "BETA!!" + before.slice(edit.offset + edit.deletedLength);
  const mapped = mapRangesThroughEdits(ranges, [edit]);
  assert.deepEqual(
    mapped.map((r) => r.word),
    ["alpha", "gamma", "delta"],
  );
  for (const r of mapped) assert.equal(after.slice(r.start, r.end), r.word);
});

test("several edits in one change event apply in order, as VS Code reports them", () => {
  // Multi-cursor edit reported last-first: insert at 10 then at 2 (offsets in the text after the previous edit).
  const text = "aaaa bbbb cccc";
  const ranges = [
    { start: 0, end: 4 },
    { start: 5, end: 9 },
    { start: 10, end: 14 },
  ];
  const edits = [insert(14, "!"), insert(4, "!")];
  let edited = text;
  for (const e of edits) edited = edited.slice(0, e.offset) + "!" + edited.slice(e.offset);
  const mapped = mapRangesThroughEdits(ranges, edits);
  assert.deepEqual(
    mapped.map((r) => edited.slice(r.start, r.end)),
    ["aaaa", "bbbb", "cccc"],
  );
});

test("an empty range belongs to the character before it", () => {
  const empty: OffsetRange = { start: 4, end: 4 };
  assert.deepEqual(mapRangeThroughEdit(empty, insert(4, "x")), empty);
  assert.deepEqual(mapRangeThroughEdit(empty, replace(4, 2, "")), empty);
  assert.equal(mapRangeThroughEdit(empty, replace(3, 1, "")), null);
  assert.deepEqual(mapRangeThroughEdit(empty, insert(1, "xy")), { start: 6, end: 6 });
});

test("extra fields on a range are kept and the input is not modified", () => {
  const ranges = [{ start: 5, end: 8, level: 3 }];
  const mapped = mapRangesThroughEdits(ranges, [insert(0, "ab")]);
  assert.deepEqual(mapped, [{ start: 7, end: 10, level: 3 }]);
  assert.deepEqual(ranges, [{ start: 5, end: 8, level: 3 }]);
});

test("random edits never leave a range on changed text", () => {
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 300; round++) {
    let text = "";
    const ranges: { start: number; end: number; text: string }[] = [];
    for (let i = 0; i < 20; i++) {
      const word = "w".repeat(1 + random(4)) + String(i);
      ranges.push({ start: text.length, end: text.length + word.length, text: word });
      text += word + (random(3) === 0 ? "" : " ");
    }
    let current = ranges;
    for (let step = 0; step < 5; step++) {
      const offset = random(text.length + 1);
      const deletedLength = random(Math.min(6, text.length - offset) + 1);
      const inserted = "#".repeat(random(4));
      const edit = { offset, deletedLength, insertedLength: inserted.length };
      text = text.slice(0, offset) + inserted + text.slice(offset + deletedLength);
      current = mapRangesThroughEdits(current, [edit]);
      for (const r of current) assert.equal(text.slice(r.start, r.end), r.text);
    }
  }
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { BITS_PER_LEVEL, SURPRISAL_LEVELS, gltrBucket, surprisalBitsOrNull as surprisalBits, surprisalLevel } from "../../../src/core/surprisal";
import { visibleSpan } from "../../../src/extension/highlightSpan";

test("surprisal is −log₂ p: p = 1/2 is one bit, p = 1/1024 ten bits", () => {
  assert.equal(surprisalBits(Math.log(0.5)), 1);
  assert.ok(Math.abs((surprisalBits(Math.log(1 / 1024)) ?? 0) - 10) < 1e-12);
  assert.equal(surprisalBits(0), 0);
});

test("unscored or non-finite log-probabilities have no surprisal and no level", () => {
  for (const bad of [null, undefined, NaN, -Infinity, Infinity]) {
    assert.equal(surprisalBits(bad), null);
    assert.equal(surprisalLevel(bad), null);
  }
});

test("levels are linear in bits and the last level is open-ended", () => {
  const lnOfBits = (bits: number) => -bits * Math.LN2;
  assert.equal(surprisalLevel(lnOfBits(0)), 0);
  assert.equal(surprisalLevel(lnOfBits(BITS_PER_LEVEL - 0.01)), 0);
  assert.equal(surprisalLevel(lnOfBits(BITS_PER_LEVEL)), 1);
  assert.equal(surprisalLevel(lnOfBits(3 * BITS_PER_LEVEL + 0.5)), 3);
  assert.equal(surprisalLevel(lnOfBits(1000)), SURPRISAL_LEVELS - 1);
});

test("levels never decrease as surprisal grows", () => {
  let previous = 0;
  for (let bits = 0; bits < 40; bits += 0.125) {
    const level = surprisalLevel(-bits * Math.LN2) ?? -1;
    assert.ok(level >= previous && level < SURPRISAL_LEVELS);
    previous = level;
  }
});

test("GLTR buckets are top-10, top-100, top-1000 and the rest", () => {
  assert.equal(gltrBucket(1), 0);
  assert.equal(gltrBucket(10), 0);
  assert.equal(gltrBucket(11), 1);
  assert.equal(gltrBucket(100), 1);
  assert.equal(gltrBucket(101), 2);
  assert.equal(gltrBucket(1000), 2);
  assert.equal(gltrBucket(1001), 3);
  assert.equal(gltrBucket(null), null);
  assert.equal(gltrBucket(0), null);
});

test("the coloured part of a token leaves out its surrounding whitespace", () => {
  const text = "Hello the\n\n  world";
  assert.deepEqual(visibleSpan(text, 5, 9), { start: 6, end: 9 });
  assert.equal(visibleSpan(text, 9, 13), null, "whitespace-only tokens are not coloured");
  assert.deepEqual(visibleSpan(text, 9, 18), { start: 13, end: 18 });
  assert.equal(visibleSpan(text, 4, 4), null, "empty ranges are not coloured");
  assert.equal(visibleSpan("a\u3000b", 1, 2), null, "ideographic space is whitespace");
});

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { contextLength, rollingTokenWindows, rollingWindows, slidingWindows, windowsFor, type ScoringWindow } from "../../../src/core/windows";
import type { WindowMethod } from "../../../src/core/types";

const PREFIX = -100;

/** The sequence [prefix, 0, 1, …, n−1] as lm-evaluation-harness's tests write it (prefix_token = -100, tokens = range(n)). */
function sequence(n: number): number[] {
  return [PREFIX, ...Array.from({ length: n }, (_, i) => i)];
}

/** A window as lm-evaluation-harness's (input_tokens, pred_tokens) pair. */
function asHarnessPair(window: ScoringWindow, n: number): [number[], number[]] {
  const seq = sequence(n);
  const predicted = Array.from({ length: window.scoreEnd - window.scoreStart }, (_, k) => window.scoreStart + k);
  return [seq.slice(window.inputStart, window.inputEnd), predicted];
}

/** Range helper: [a, a+1, …, b−1]. */
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, k) => a + k);

/**
 * lm-evaluation-harness tests/test_utils.py, test_get_rolling_token_windows_v1 … v6 and _empty: the gold
 * (input_tokens, pred_tokens) pairs, transcribed as data.
 */
const HARNESS_CASES: Array<{ name: string; n: number; maxSeqLen: number; contextLen: number; gold: Array<[number[], number[]]> }> = [
  {
    name: "v1",
    n: 34,
    maxSeqLen: 10,
    contextLen: 1,
    gold: [
      [[PREFIX, ...range(0, 9)], range(0, 10)],
      [range(9, 19), range(10, 20)],
      [range(19, 29), range(20, 30)],
      [range(23, 33), range(30, 34)],
    ],
  },
  {
    name: "v2",
    n: 34,
    maxSeqLen: 10,
    contextLen: 8,
    gold: [
      [[PREFIX, ...range(0, 9)], range(0, 10)],
      [range(2, 12), [10, 11, 12]],
      [range(5, 15), [13, 14, 15]],
      [range(8, 18), [16, 17, 18]],
      [range(11, 21), [19, 20, 21]],
      [range(14, 24), [22, 23, 24]],
      [range(17, 27), [25, 26, 27]],
      [range(20, 30), [28, 29, 30]],
      [range(23, 33), [31, 32, 33]],
    ],
  },
  {
    name: "v3",
    n: 34,
    maxSeqLen: 10,
    contextLen: 10,
    gold: [[[PREFIX, ...range(0, 9)], range(0, 10)] as [number[], number[]], ...range(10, 34).map((j): [number[], number[]] => [range(j - 10, j), [j]])],
  },
  {
    name: "v4",
    n: 30,
    maxSeqLen: 10,
    contextLen: 10,
    gold: [[[PREFIX, ...range(0, 9)], range(0, 10)] as [number[], number[]], ...range(10, 30).map((j): [number[], number[]] => [range(j - 10, j), [j]])],
  },
  {
    name: "v5",
    n: 30,
    maxSeqLen: 10,
    contextLen: 1,
    gold: [
      [[PREFIX, ...range(0, 9)], range(0, 10)],
      [range(9, 19), range(10, 20)],
      [range(19, 29), range(20, 30)],
    ],
  },
  {
    name: "v6",
    n: 9,
    maxSeqLen: 2,
    contextLen: 1,
    gold: [
      [
        [PREFIX, 0],
        [0, 1],
      ],
      [
        [1, 2],
        [2, 3],
      ],
      [
        [3, 4],
        [4, 5],
      ],
      [
        [5, 6],
        [6, 7],
      ],
      [[6, 7], [8]],
    ],
  },
  { name: "empty", n: 0, maxSeqLen: 2, contextLen: 1, gold: [] },
];

describe("rolling windows match lm-evaluation-harness get_rolling_token_windows", () => {
  for (const c of HARNESS_CASES) {
    test(`test_get_rolling_token_windows_${c.name} (max_seq_len ${c.maxSeqLen}, context_len ${c.contextLen}, ${c.n} tokens)`, () => {
      const windows = rollingTokenWindows(c.n, c.maxSeqLen, c.contextLen);
      assert.deepEqual(
        windows.map((w) => asHarnessPair(w, c.n)),
        c.gold,
      );
      // As the harness test asserts: the predictions cover the tokens exactly once.
      assert.equal(
        windows.reduce((sum, w) => sum + w.scoreEnd - w.scoreStart, 0),
        c.n,
      );
    });
  }

  test("test_make_disjoint_window: the context fed before the predicted tokens", () => {
    // make_disjoint_window((a, b)) = (a[: len(a) - (len(b) - 1)], b): what the model reads before predicting b.
    // Here that is sequence positions [inputStart, scoreStart + 1): v2's second window reads 2..9 (context_len = 8
    // tokens) and then predicts 10, 11, 12.
    const [, second] = rollingTokenWindows(34, 10, 8);
    assert.ok(second !== undefined);
    assert.deepEqual(sequence(34).slice(second.inputStart, second.scoreStart + 1), range(2, 10));
    assert.equal(contextLength(second, second.scoreStart), 8);
  });

  test("rollingWindows is context_len = 1: disjoint windows, each conditioned on one token before it", () => {
    for (const [n, window] of [
      [34, 10],
      [9, 2],
      [5, 1],
      [1, 4],
      [100, 7],
    ] as const) {
      const windows = rollingWindows(n, window);
      assert.deepEqual(windows, rollingTokenWindows(n, window, 1));
      const scored = windows.flatMap((w) => range(w.scoreStart, w.scoreEnd));
      assert.deepEqual(scored, range(0, n));
      for (const w of windows) {
        assert.ok(w.inputEnd - w.inputStart <= window, "never more than the window");
        assert.equal(w.inputEnd, w.scoreEnd, "the last scored token's predictor is the last input");
      }
      for (const w of windows.slice(1)) assert.equal(contextLength(w, w.scoreStart), w.scoreStart - w.inputStart + 1);
    }
  });

  test("window = 1: each token is predicted from the one before it", () => {
    assert.deepEqual(rollingWindows(3, 1), [
      { inputStart: 0, inputEnd: 1, scoreStart: 0, scoreEnd: 1 },
      { inputStart: 1, inputEnd: 2, scoreStart: 1, scoreEnd: 2 },
      { inputStart: 2, inputEnd: 3, scoreStart: 2, scoreEnd: 3 },
    ]);
  });

  test("n < window is one window; n = 0 none; bad arguments are refused", () => {
    assert.deepEqual(rollingWindows(3, 10), [{ inputStart: 0, inputEnd: 3, scoreStart: 0, scoreEnd: 3 }]);
    assert.deepEqual(rollingWindows(0, 10), []);
    assert.throws(() => rollingWindows(5, 0), /window \(max_seq_len\) must be an integer of at least 1/);
    assert.throws(() => rollingWindows(-1, 4), /number of tokens must be an integer/);
    assert.throws(() => rollingWindows(2.5, 4), RangeError);
    assert.throws(() => rollingTokenWindows(5, 4, 5), /context length \(5\) must not exceed the window \(4\)/);
  });
});

/**
 * Hugging Face's loop ("Perplexity of fixed-length models"), simulated literally on label arrays: labels outside the
 * last trg_len positions are -100, then the model's shift drops the first label of the window. Returns, per window,
 * [begin_loc, end_loc, scored sequence positions].
 */
function huggingFaceLoop(seqLen: number, maxLength: number, stride: number): Array<[number, number, number[]]> {
  const out: Array<[number, number, number[]]> = [];
  let prevEndLoc = 0;
  for (let beginLoc = 0; beginLoc < seqLen; beginLoc += stride) {
    const endLoc = Math.min(beginLoc + maxLength, seqLen);
    const trgLen = endLoc - prevEndLoc;
    const inputPositions = range(beginLoc, endLoc);
    const labels = inputPositions.map((p, k) => (k < inputPositions.length - trgLen ? -100 : p));
    const shiftedLabels = labels.slice(1); // logits[:-1] predict labels[1:]
    out.push([beginLoc, endLoc, shiftedLabels.filter((label) => label !== -100)]);
    prevEndLoc = endLoc;
    if (endLoc === seqLen) break;
  }
  return out;
}

describe("sliding windows match Hugging Face's fixed-length perplexity loop", () => {
  test("hand-worked: 9 tokens (10 positions with the prefix), window 4, stride 2", () => {
    assert.deepEqual(slidingWindows(9, 4, 2), [
      { inputStart: 0, inputEnd: 4, scoreStart: 0, scoreEnd: 3 },
      { inputStart: 2, inputEnd: 6, scoreStart: 3, scoreEnd: 5 },
      { inputStart: 4, inputEnd: 8, scoreStart: 5, scoreEnd: 7 },
      { inputStart: 6, inputEnd: 10, scoreStart: 7, scoreEnd: 9 },
    ]);
    // t3 is predicted at position 3, with positions 2..3 as context.
    assert.equal(contextLength({ inputStart: 2, inputEnd: 6, scoreStart: 3, scoreEnd: 5 }, 3), 2);
  });

  test("equals the literal loop for every n ≤ 40, window ≤ 9, stride ≤ window", () => {
    for (let n = 1; n <= 40; n++) {
      for (let window = 2; window <= 9; window++) {
        for (let stride = 1; stride <= window; stride++) {
          const expected = huggingFaceLoop(n + 1, window, stride)
            .filter(([, , scored]) => scored.length > 0)
            .map(([begin, end, scored]) => ({
              inputStart: begin,
              inputEnd: end,
              scoreStart: (scored[0] as number) - 1, // sequence position p holds text token p − 1
              scoreEnd: (scored[scored.length - 1] as number) - 1 + 1,
            }));
          assert.deepEqual(slidingWindows(n, window, stride), expected, `n ${n}, window ${window}, stride ${stride}`);
        }
      }
    }
  });

  test("stride < window scores every token once, with up to window − 1 tokens of context", () => {
    const windows = slidingWindows(50, 8, 3);
    assert.deepEqual(
      windows.flatMap((w) => range(w.scoreStart, w.scoreEnd)),
      range(0, 50),
    );
    for (const w of windows) {
      for (let j = w.scoreStart; j < w.scoreEnd; j++) assert.ok(contextLength(w, j) >= 1 && contextLength(w, j) <= 7);
    }
  });

  test("stride = window gives disjoint windows; the first token of each later window goes unscored, as in Hugging Face's loop", () => {
    const windows = slidingWindows(11, 4, 4);
    assert.deepEqual(windows, [
      { inputStart: 0, inputEnd: 4, scoreStart: 0, scoreEnd: 3 },
      { inputStart: 4, inputEnd: 8, scoreStart: 4, scoreEnd: 7 },
      { inputStart: 8, inputEnd: 12, scoreStart: 8, scoreEnd: 11 },
    ]);
    for (let k = 1; k < windows.length; k++) assert.equal(windows[k]?.inputStart, windows[k - 1]?.inputEnd);
    const scored = new Set(windows.flatMap((w) => range(w.scoreStart, w.scoreEnd)));
    assert.deepEqual(
      range(0, 11).filter((j) => !scored.has(j)),
      [3, 7],
    );
  });

  test("window = 2, stride 1: one token per window, each with one token of context besides the first", () => {
    assert.deepEqual(slidingWindows(3, 2, 1), [
      { inputStart: 0, inputEnd: 2, scoreStart: 0, scoreEnd: 1 },
      { inputStart: 1, inputEnd: 3, scoreStart: 1, scoreEnd: 2 },
      { inputStart: 2, inputEnd: 4, scoreStart: 2, scoreEnd: 3 },
    ]);
  });

  test("n = 0 has no windows; n < window is one window scoring everything", () => {
    assert.deepEqual(slidingWindows(0, 8, 4), []);
    assert.deepEqual(slidingWindows(5, 8, 4), [{ inputStart: 0, inputEnd: 6, scoreStart: 0, scoreEnd: 5 }]);
  });

  test("refuses a stride above the window, a window below 2, a stride below 1", () => {
    assert.throws(() => slidingWindows(10, 4, 5), /stride \(5\) must not exceed the window \(4\)/);
    assert.throws(() => slidingWindows(10, 1, 1), /sliding window must be an integer of at least 2/);
    assert.throws(() => slidingWindows(10, 4, 0), /stride must be an integer of at least 1/);
    assert.throws(() => slidingWindows(10, 4, Number.NaN), RangeError);
  });
});

test("windowsFor picks the method by name and refuses an unknown one", () => {
  assert.deepEqual(windowsFor("sliding", 20, 8, 4), slidingWindows(20, 8, 4));
  assert.deepEqual(windowsFor("rolling", 20, 8, 4), rollingWindows(20, 8));
  assert.throws(() => windowsFor("strided" as WindowMethod, 20, 8, 4), /Unknown window method "strided": expected "sliding" or "rolling"\./);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { annotationSpans, blockSpans, lineSpans, paragraphSpans, tokensPerSpan } from "../../../src/extension/annotationSpans";

const texts = (text: string, spans: { start: number; end: number }[]) => spans.map((s) => text.slice(s.start, s.end));

test("paragraphs are runs of non-blank lines, trimmed, with CRLF handled", () => {
  const text = "  First line\r\nsecond line.  \r\n\r\n \t \nThird para\n";
  assert.deepEqual(texts(text, paragraphSpans(text)), ["First line\r\nsecond line.", "Third para"]);
});

test("lines skip blank lines and trim", () => {
  const text = "a b\n\n  c  \r\nd";
  assert.deepEqual(texts(text, lineSpans(text)), ["a b", "c", "d"]);
  assert.deepEqual(lineSpans(""), []);
});

test("blocks follow top-level definitions in code and paragraphs in prose", () => {
  const code = [
    "import a from 'a';",
    "import b from 'b';",
    "",
    "function f() {",
    "  const x = 1;",
    "",
    "  return x;",
    "}",
    "function g() {",
    "  return 2;",
    "}",
    "",
    "class C:",
    "    def m(self):",
    "        pass",
    "x = C()",
  ].join("\n");
  const blocks = texts(code, blockSpans(code));
  assert.equal(blocks.length, 4);
  assert.equal(blocks[0], "import a from 'a';\nimport b from 'b';");
  assert.ok(
    blocks[1]?.startsWith("function f() {") && blocks[1].endsWith("return 2;\n}"),
    "a closing brace keeps the block; the next definition without a blank line joins it",
  );
  assert.equal(blocks[2], "class C:\n    def m(self):\n        pass");
  assert.equal(blocks[3], "x = C()");
  const prose = "One line\nstill the same paragraph\n\nNext paragraph";
  assert.deepEqual(texts(prose, blockSpans(prose)), ["One line\nstill the same paragraph", "Next paragraph"]);
});

test("off gives no spans", () => {
  assert.deepEqual(annotationSpans("some text", "off"), []);
});

test("tokens are grouped by the span they overlap, including a leading-space token", () => {
  const text = "Hello world\n\n The end";
  // tokens: "Hello" " world" "\n\n" " The" " end"
  const tokens = [
    { start: 0, end: 5 },
    { start: 5, end: 11 },
    { start: 11, end: 13 },
    { start: 13, end: 17 },
    { start: 17, end: 21 },
  ];
  const spans = paragraphSpans(text);
  assert.deepEqual(texts(text, spans), ["Hello world", "The end"]);
  assert.deepEqual(tokensPerSpan(tokens, spans), [
    { from: 0, to: 2 },
    { from: 3, to: 5 },
  ]);
});

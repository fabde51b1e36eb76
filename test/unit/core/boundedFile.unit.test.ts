/** Issue 13: the one bounded reader refuses devices, FIFOs, folders, oversized files and paths that leave their root. */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { readBoundedFile } from "../../../src/core/boundedFile";
import { readPeftConfig } from "../../../src/core/lora/peftAdapter";
import { readInput } from "../../../src/cli/readInput";
import { createArchitecture } from "../../../src/core/architecture";
import { onnxruntimeReason } from "../../../src/core/backends/onnx/onnxSession";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-bounded-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("/dev/zero and /dev/urandom are refused as character devices", () => {
  for (const dev of ["/dev/zero", "/dev/urandom"]) {
    assert.throws(() => readBoundedFile(dev, { maxBytes: 100, what: "config.json" }), {
      message: `${dev} (config.json) is a character device, not a regular file, so it is not read.`,
    });
  }
});

test("a FIFO with no writer is refused at once, not waited on", () => {
  const fifo = path.join(tmp, "fifo");
  execFileSync("mkfifo", [fifo]);
  const started = Date.now();
  assert.throws(() => readBoundedFile(fifo, { maxBytes: 100, what: "the document" }), {
    message: `${fifo} (the document) is a named pipe (FIFO), not a regular file, so it is not read.`,
  });
  assert.ok(Date.now() - started < 1000);
  assert.throws(() => readInput(fifo, "scored"), { message: `${fifo} (the document) is a named pipe (FIFO), not a regular file, so it is not read.` });
  assert.throws(() => readInput("/dev/zero", "scored"), { message: "/dev/zero (the document) is a character device, not a regular file, so it is not read." });
});

test("a file over its limit is refused naming the limit and the size; a folder is refused", () => {
  const big = path.join(tmp, "big.json");
  fs.writeFileSync(big, Buffer.alloc(2048, 32));
  assert.throws(() => readBoundedFile(big, { maxBytes: 1024, what: "config.json" }), {
    message: `${big} (config.json) is 2 KiB, more than the 1 KiB allowed for it, so it is not read.`,
  });
  const read = readBoundedFile(big, { maxBytes: 1024, what: "x", truncate: true });
  assert.equal(read.bytes.length, 1024);
  assert.equal(read.truncated, true);
  assert.throws(() => readBoundedFile(tmp, { maxBytes: 10, what: "tokenizer.json" }), {
    message: `${tmp} (tokenizer.json) is a folder, not a regular file, so it is not read.`,
  });
});

test("a symlink leaving the root is refused; one inside it is read", () => {
  const root = path.join(tmp, "root");
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(tmp, "outside.json"), "{}");
  fs.writeFileSync(path.join(root, "inside.json"), "{}");
  fs.symlinkSync(path.join(tmp, "outside.json"), path.join(root, "out.json"));
  fs.symlinkSync(path.join(root, "inside.json"), path.join(root, "in.json"));
  assert.throws(() => readBoundedFile(path.join(root, "out.json"), { maxBytes: 10, what: "config.json", root }), {
    message: `${path.join(root, "out.json")} (config.json) leads outside its folder ${root} (through a symlink), so it is not read.`,
  });
  assert.equal(readBoundedFile(path.join(root, "in.json"), { maxBytes: 10, what: "config.json", root }).bytes.toString(), "{}");
});

test("adapter_config.json: lora_alpha 1e999 and 1e308 are refused naming the file and the field", () => {
  const dir = path.join(tmp, "adapter");
  fs.mkdirSync(dir);
  const write = (alpha: string): void =>
    fs.writeFileSync(path.join(dir, "adapter_config.json"), `{"peft_type":"LORA","r":8,"lora_alpha":${alpha},"target_modules":["c_attn"]}`);
  write("1e999");
  assert.throws(() => readPeftConfig(dir, "a"), {
    message: 'Adapter "a": adapter_config.json: lora_alpha must be a finite number, not Infinity (the number overflows a double).',
  });
  write("1e308");
  assert.throws(() => readPeftConfig(dir, "a"), {
    message: 'Adapter "a": adapter_config.json: lora_alpha 1e+308 gives a scaling of 1.25e+307 (lora_alpha / r), beyond the ±10000 Perplexity Lens accepts.',
  });
  write("16");
  assert.equal(readPeftConfig(dir, "a").loraAlpha, 16);
});

test("config.json: n_positions 1e15 is refused naming the file and the field", () => {
  assert.throws(() => createArchitecture({ model_type: "gpt2", n_positions: 1e15, n_embd: 64, n_head: 4, n_layer: 2, vocab_size: 100 }), {
    message: "config.json n_positions 1000000000000000 is above 1,048,576, the largest context length Perplexity Lens accepts.",
  });
});

test("onnxruntime's log prefix and source locations are not repeated", () => {
  assert.equal(
    onnxruntimeReason(
      new Error(
        "\u001b[1;31m2026-12-04 03:00:00.123 [E:onnxruntime:, inference_session.cc:12 Init] /onnxruntime/core/common/safeint.h:17 Integer overflow\n more",
      ),
    ),
    "Integer overflow",
  );
});

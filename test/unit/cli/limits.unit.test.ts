/**
 * The command line under the same bounds as the settings (src/core/limits.ts): out-of-range numbers are refused in
 * one sentence (as a setting out of range is refused), the manifest declares the same bounds, the document size limit
 * cuts or refuses a long text as in the editor, --json and --csv conflict in either order, and a summary with nothing
 * scored prints "—", never "undefined".
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FORMAT_CONFLICT, parseArgs, UsageError } from "../../../src/cli/args";
import { parseCompareArgs } from "../../../src/cli/compareCommand";
import { LIMITS } from "../../../src/core/limits";
import { CONFIG_BOUNDS, CONFIG_DEFAULTS, CONFIG_KEYS, CONFIG_SECTION, type SettingField } from "../../../src/extension/config";
import { runningSumFolder } from "../../helpers/onnxBuilder";
import { repoRoot } from "../../helpers/paths";
import { runCliBatch } from "../../helpers/reliabilityChecks";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-cli-limits-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const usage = (argv: string[]): string => {
  try {
    parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  return "";
};

describe("one set of bounds for every entry point", () => {
  const settingOf: Record<keyof typeof LIMITS, SettingField> = {
    threads: "engineThreads",
    window: "window",
    stride: "stride",
    topK: "topK",
    kvCacheBudgetMB: "kvCacheBudgetMB",
    maxDocumentSize: "maxDocumentSize",
  };

  test("the settings and package.json's contributes.configuration declare exactly the bounds of src/core/limits.ts", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
      contributes: { configuration: Array<{ properties: Record<string, { minimum?: number; maximum?: number }> }> | { properties: Record<string, object> } };
    };
    const properties = Object.assign({}, ...[manifest.contributes.configuration].flat().map((s) => s.properties)) as Record<
      string,
      { minimum?: number; maximum?: number }
    >;
    for (const [name, bounds] of Object.entries(LIMITS) as Array<[keyof typeof LIMITS, { min: number; max: number }]>) {
      const field = settingOf[name];
      assert.deepEqual(CONFIG_BOUNDS[field], [bounds.min, bounds.max], `${field} in SETTINGS`);
      const declared = properties[`${CONFIG_SECTION}.${CONFIG_KEYS[field]}`];
      assert.ok(declared, `${CONFIG_KEYS[field]} is declared`);
      assert.equal(declared.minimum, bounds.min, `${CONFIG_KEYS[field]} minimum`);
      assert.equal(declared.maximum, bounds.max, `${CONFIG_KEYS[field]} maximum`);
    }
  });

  test("--threads 100000 is refused (not clamped), as the setting refuses it, in one sentence naming the bounds", () => {
    assert.equal(usage(["score", "f.txt", "--threads", "100000"]), `--threads must be an integer from 1 to ${LIMITS.threads.max}, not "100000".`);
    assert.equal(parseArgs(["score", "f.txt", "--threads", String(LIMITS.threads.max)]).threads, LIMITS.threads.max);
    assert.throws(() => parseCompareArgs(["f.txt", "--model", "a", "--model", "b", "--threads=100000"]), /--threads must be an integer from 1 to 64/);
    for (const [flag, bounds] of [
      ["--window", LIMITS.window],
      ["--stride", LIMITS.stride],
      ["--top", LIMITS.topK],
      ["--max-document-size", LIMITS.maxDocumentSize],
    ] as const) {
      assert.equal(
        usage(["score", "f.txt", flag, String(bounds.max + 1)]),
        `${flag} must be an integer from ${bounds.min} to ${bounds.max}, not "${bounds.max + 1}".`,
      );
      if (bounds.min > 0) assert.match(usage(["score", "f.txt", flag, String(bounds.min - 1)]), /must be an integer from/);
    }
  });

  test("--json --csv and --csv --json are refused with the same sentence", () => {
    assert.equal(usage(["score", "f.txt", "--json", "--csv"]), FORMAT_CONFLICT);
    assert.equal(usage(["score", "f.txt", "--csv", "--json"]), FORMAT_CONFLICT);
    assert.equal(usage(["--csv", "score", "f.txt", "--json"]), FORMAT_CONFLICT);
    assert.equal(parseArgs(["score", "f.txt", "--json", "--json"]).format, "json");
  });

  test("the size flags default to the settings' defaults", () => {
    const args = parseArgs(["score", "f.txt"]);
    assert.equal(args.maxDocumentSize, CONFIG_DEFAULTS.maxDocumentSize);
    assert.equal(args.oversizedDocuments, CONFIG_DEFAULTS.oversizedDocuments);
    assert.equal(parseArgs(["score", "f.txt", "--oversized-documents=refuse"]).oversizedDocuments, "refuse");
    assert.match(usage(["score", "f.txt", "--oversized-documents", "drop"]), /^--oversized-documents must be truncate or refuse, not "drop"\.$/);
  });
});

describe("the command line's document size limit and empty summaries", () => {
  test("a long file is cut with a sentence on stderr, or refused in one; an empty file's summary prints —", () => {
    const model = runningSumFolder(path.join(tmp, "sum"), { dim: 8, positions: 64 });
    const long = path.join(tmp, "long.txt");
    fs.writeFileSync(long, "abcdefghij".repeat(150)); // 1,500 characters
    const empty = path.join(tmp, "empty.txt");
    fs.writeFileSync(empty, "");
    const [cut, refused, whole, nothing] = runCliBatch([
      ["score", long, "--model", model, "--json", "--max-document-size", "1000"],
      ["score", long, "--model", model, "--max-document-size", "1000", "--oversized-documents", "refuse"],
      ["score", long, "--model", model, "--json"],
      ["score", empty, "--model", model, "--no-color"],
    ]);
    assert.equal(cut!.code, 0, cut!.stderr);
    assert.equal(
      cut!.stderr,
      `perplexity-lens: warning: ${long} has 1,500 characters; only the first 1,000 are scored (--max-document-size and --oversized-documents).\n`,
    );
    const report = JSON.parse(cut!.stdout) as { tokens: Array<{ end: number }> };
    assert.ok(report.tokens.length > 0 && report.tokens.every((t) => t.end <= 1000));
    assert.equal(refused!.code, 1);
    assert.equal(refused!.stdout, "");
    assert.equal(refused!.stderr, `perplexity-lens: ${long} has 1,500 characters, more than the limit of 1,000 (--max-document-size), so it was not scored.\n`);
    assert.equal(whole!.code, 0);
    assert.equal(whole!.stderr, "", "under the default limit nothing is said");
    assert.equal(nothing!.code, 0, nothing!.stderr);
    assert.doesNotMatch(nothing!.stdout, /undefined|NaN/);
    assert.match(nothing!.stdout, /token perplexity\s+—\n/);
  });
});

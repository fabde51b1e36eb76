/**
 * LoRA switch benchmark: the time to switch adapters and have a document rescored, by the feed path (LoRA inputs of the
 * default model, no rebuild), the merge path (the same weights without LoRA inputs, ΔW patched into the bytes and the
 * session rebuilt) and a full model reload (Engine.loadModel, what switching between separately exported merged models
 * would cost). The three are measured in turns within one run (so background load hits all alike), median of `reps`.
 *
 * `loraSwitchSection()` returns the BENCHMARKS.md section (test/bench/bench.ts includes it); run directly
 * (`node out/test/bench/loraSwitch.js [--quick]`) it replaces that section in BENCHMARKS.md, or appends it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Engine } from "../../src/core/engine";
import type { ScoreOptions } from "../../src/protocol/engine";

const root = path.resolve(__dirname, "../../..");
const FEED_MODEL = path.join(root, "models", "lens-gpt2-bpe4k");
const MERGE_MODEL = path.join(root, "test", "fixtures", "lens-gpt2-bpe4k-nolora");
const ADAPTERS = ["typescript-code", "markdown-prose"];
export const SECTION_TITLE = "## LoRA adapter switch: feed vs merge vs a full reload";

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: number, digits = 1): string => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

export interface LoraSwitchResult {
  tokens: number;
  reps: number;
  /** Median milliseconds of the switch alone, and of the switch followed by rescoring the document. */
  feed: { switchMs: number; totalMs: number };
  merge: { switchMs: number; totalMs: number };
  reload: { switchMs: number; totalMs: number };
}

/** A document of about `tokens` tokens: the model kit's code validation texts, cut at a token boundary. */
function documentOf(engine: Engine, tokens: number): string {
  const lines = fs
    .readFileSync(path.join(root, "tools", "model-kit", "validation", "code.jsonl"), "utf8")
    .trim()
    .split("\n");
  let text = lines.map((l) => (JSON.parse(l) as { text: string }).text).join("\n");
  const tokenizer = engine.tokenizer!;
  while (tokenizer.encode(text.slice(0, tokens * 8)).ids.length < tokens) text += "\n" + text;
  const { offsets } = tokenizer.encode(text.slice(0, tokens * 8));
  return text.slice(0, offsets[tokens - 1]![1]);
}

export async function measureLoraSwitch(tokens: number, reps: number): Promise<LoraSwitchResult> {
  const options: ScoreOptions = { method: "sliding", window: 0, stride: 0, topK: 5 };
  const feed = new Engine();
  const merge = new Engine();
  const reload = new Engine();
  try {
    await feed.loadModel(FEED_MODEL);
    await merge.loadModel(MERGE_MODEL);
    await reload.loadModel(FEED_MODEL);
    const text = documentOf(feed, tokens);
    for (const e of [feed, merge, reload]) await e.score("doc", text, options); // warm-up
    const samples = { feed: [[], []], merge: [[], []], reload: [[], []] } as Record<"feed" | "merge" | "reload", [number[], number[]]>;
    const timed = async (key: keyof typeof samples, engine: Engine, doSwitch: () => Promise<unknown>): Promise<void> => {
      const t0 = now();
      await doSwitch();
      const t1 = now();
      const r = await engine.score("doc", text, options);
      const t2 = now();
      if (r.rescore.tokensReused !== 0) throw new Error(`${key}: the switch should have reset the cache`);
      samples[key][0].push(t1 - t0);
      samples[key][1].push(t2 - t0);
    };
    for (let i = 0; i < reps; i++) {
      const name = ADAPTERS[i % ADAPTERS.length]!;
      await timed("feed", feed, () => feed.setAdapters([{ name, scale: 1 }]));
      await timed("merge", merge, () => merge.setAdapters([{ name, path: path.join(FEED_MODEL, "adapters", name), scale: 1 }]));
      await timed("reload", reload, () => reload.loadModel(FEED_MODEL));
    }
    const pick = (k: keyof typeof samples): { switchMs: number; totalMs: number } => ({ switchMs: median(samples[k][0]), totalMs: median(samples[k][1]) });
    return { tokens, reps, feed: pick("feed"), merge: pick("merge"), reload: pick("reload") };
  } finally {
    await feed.dispose();
    await merge.dispose();
    await reload.dispose();
  }
}

export async function loraSwitchSection(quick: boolean, log: (s: string) => void = () => undefined): Promise<string[]> {
  const load = os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" / ");
  const r = await measureLoraSwitch(1024, quick ? 5 : 11);
  log(`lora switch ${JSON.stringify(r)}`);
  const ratio = (x: number, y: number): string => `${fmt((x / y) * 100)}%`;
  const feedShare = r.feed.switchMs / r.reload.switchMs;
  return [
    SECTION_TITLE,
    "",
    `Switching between the two shipped adapters (r = 8, q_proj and v_proj of 4 layers), then rescoring a ${r.tokens}-token document (sliding window, top-5; the switch drops the KV cache, so every token is recomputed). Feed: lens-gpt2-bpe4k, whose graph takes LoRA inputs. Merge: the same weights exported without them (test/fixtures/lens-gpt2-bpe4k-nolora); ΔW is added into a copy of the model bytes and the session rebuilt. Full reload: Engine.loadModel of the model folder (tokenizer, graph parse, session, probe), what switching between separately exported merged models would cost. Medians of ${r.reps} switches, the three paths taking turns; load average at the start ${load} (${os.cpus().length} cores).`,
    "",
    "| path | switch | switch + rescore | switch vs reload | switch + rescore vs reload | target |",
    "|---|---|---|---|---|---|",
    `| feed | ${fmt(r.feed.switchMs, 2)} ms | ${fmt(r.feed.totalMs, 0)} ms | ${ratio(r.feed.switchMs, r.reload.switchMs)} | ${ratio(r.feed.totalMs, r.reload.totalMs)} | switch < 5% of a reload ${feedShare < 0.05 ? "✓" : "✗"} |`,
    `| merge | ${fmt(r.merge.switchMs, 1)} ms | ${fmt(r.merge.totalMs, 0)} ms | ${ratio(r.merge.switchMs, r.reload.switchMs)} | ${ratio(r.merge.totalMs, r.reload.totalMs)} | |`,
    `| full reload | ${fmt(r.reload.switchMs, 1)} ms | ${fmt(r.reload.totalMs, 0)} ms | 100% | 100% | |`,
    "",
    "The rescore itself is the same work on every path (the cached keys and values came from the old weights), so once it is included the paths differ only by their switch times.",
    "",
  ];
}

/** Replaces the section in BENCHMARKS.md (up to the next "## " heading), or appends it. */
export function writeSection(section: string[], file = path.join(root, "BENCHMARKS.md")): void {
  const existing = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "# Benchmarks\n\n";
  const start = existing.indexOf(SECTION_TITLE);
  let next: string;
  if (start < 0) next = existing.replace(/\n*$/, "\n\n") + section.join("\n");
  else {
    const end = existing.indexOf("\n## ", start + SECTION_TITLE.length);
    next = existing.slice(0, start) + section.join("\n") + (end < 0 ? "" : existing.slice(end + 1));
  }
  fs.writeFileSync(file, next);
}

if (require.main === module) {
  const quick = process.argv.includes("--quick");
  loraSwitchSection(quick, (s) => process.stdout.write(s + "\n"))
    .then((section) => {
      writeSection(section);
      process.stdout.write(section.join("\n") + "\n");
    })
    .catch((e: unknown) => {
      process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = 1;
    });
}

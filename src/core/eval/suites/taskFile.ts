/**
 * A user's own task file: JSON Lines, one item per line (blank lines are skipped), all lines of one kind.
 *
 * Pairs — CrowS-Pairs-style minimal pairs, each sentence scored as a whole text after the prefix token:
 *   {"more": "The sentence expected to be preferred", "less": "Its minimal edit", "label": "optional group name"}
 *   metrics as CrowS-Pairs (crowsPairs.ts `pairMetrics`): likelihood_diff = mean |ll_more − ll_less| and
 *   pct_more = fraction of pairs with ll_more > ll_less, overall and per label.
 *
 * Multiple choice — lm-evaluation-harness's multiple_choice output type:
 *   {"context": "Question: …\nAnswer:", "choices": ["first", "second", …], "answer": 1, "label": "optional"}
 *   `answer` is the 0-based index of the correct choice, or its text. Each choice is scored as loglikelihood(context,
 *   " " + choice) (lm-eval's default target_delimiter " "). Metrics as lm_eval/api/task.py
 *   `ConfigurableTask.process_results` for multiple_choice: acc = [argmax_i ll_i = answer], acc_norm =
 *   [argmax_i ll_i / len(choice_i) = answer] with len the choice's length in characters (Unicode code points, Python's
 *   len), both averaged with lm-eval's mean and mean_stderr, overall and per label.
 */
import * as fs from "node:fs";
import { pairMetrics, type PairMetrics, type PairScore } from "./crowsPairs";
import { argmax, describeJson, groupBy, isRecord, mean, meanStderr, SuiteDataError, type SuiteRequest } from "./suiteData";

export interface PairTaskItem {
  more: string;
  less: string;
  label: string | null;
  line: number;
}

export interface ChoiceTaskItem {
  context: string;
  choices: string[];
  answer: number;
  label: string | null;
  line: number;
}

export type TaskFile = { kind: "pairs"; items: PairTaskItem[] } | { kind: "multipleChoice"; items: ChoiceTaskItem[] };

function optionalLabel(raw: Record<string, unknown>, where: string): string | null {
  const label = raw["label"];
  if (label === undefined || label === null) return null;
  if (typeof label !== "string" && typeof label !== "number") throw new SuiteDataError(`${where} has a label that is ${describeJson(label)}, not a string.`);
  return String(label);
}

function nonEmptyString(raw: Record<string, unknown>, name: string, where: string): string {
  const value = raw[name];
  if (typeof value !== "string" || value.trim() === "")
    throw new SuiteDataError(`${where} needs "${name}", a non-empty string${value === undefined ? "" : `, not ${describeJson(value)}`}.`);
  return value;
}

function parsePair(raw: Record<string, unknown>, where: string, line: number): PairTaskItem {
  return { more: nonEmptyString(raw, "more", where), less: nonEmptyString(raw, "less", where), label: optionalLabel(raw, where), line };
}

function parseChoice(raw: Record<string, unknown>, where: string, line: number): ChoiceTaskItem {
  const context = raw["context"];
  if (typeof context !== "string")
    throw new SuiteDataError(`${where} needs "context", a string${context === undefined ? "" : `, not ${describeJson(context)}`}.`);
  const choices = raw["choices"];
  if (!Array.isArray(choices) || choices.length < 2 || !choices.every((c) => typeof c === "string" && c !== "")) {
    throw new SuiteDataError(`${where} needs "choices", a list of at least two non-empty strings.`);
  }
  const list = choices as string[];
  const answer = raw["answer"];
  let index: number;
  if (typeof answer === "number") {
    if (!Number.isInteger(answer) || answer < 0 || answer >= list.length)
      throw new SuiteDataError(`${where} has answer ${answer}, not the index of one of its ${list.length} choices (0 to ${list.length - 1}).`);
    index = answer;
  } else if (typeof answer === "string") {
    index = list.indexOf(answer);
    if (index < 0) throw new SuiteDataError(`${where} has answer ${describeJson(answer)}, which is none of its choices.`);
  } else {
    throw new SuiteDataError(`${where} needs "answer", the index or the text of the correct choice.`);
  }
  return { context, choices: list, answer: index, label: optionalLabel(raw, where), line };
}

/** The items of a task file's text; `fileName` names the file in errors. */
export function parseTaskFile(text: string, fileName: string): TaskFile {
  const pairs: PairTaskItem[] = [];
  const choices: ChoiceTaskItem[] = [];
  let kind: TaskFile["kind"] | null = null;
  let kindLine = 0;
  text.split(/\r?\n/).forEach((content, index) => {
    if (content.trim() === "") return;
    const line = index + 1;
    const where = `${fileName}, line ${line},`;
    let raw: unknown;
    try {
      raw = JSON.parse(content);
    } catch (e) {
      throw new SuiteDataError(`${where} is not valid JSON (${(e as Error).message.replace(/\.$/, "")}).`);
    }
    if (!isRecord(raw)) throw new SuiteDataError(`${where} is ${describeJson(raw)}, not an object.`);
    const lineKind: TaskFile["kind"] | null = "more" in raw || "less" in raw ? "pairs" : "choices" in raw || "context" in raw ? "multipleChoice" : null;
    if (lineKind === null)
      throw new SuiteDataError(`${where} is neither a pair ({"more", "less"}) nor a multiple-choice item ({"context", "choices", "answer"}).`);
    if (kind === null) {
      kind = lineKind;
      kindLine = line;
    } else if (kind !== lineKind) {
      const name = (k: TaskFile["kind"]): string => (k === "pairs" ? "a pair" : "a multiple-choice item");
      throw new SuiteDataError(`${where} is ${name(lineKind)}, but line ${kindLine} is ${name(kind)}; a task file holds one kind of item.`);
    }
    if (lineKind === "pairs") pairs.push(parsePair(raw, where, line));
    else choices.push(parseChoice(raw, where, line));
  });
  if (kind === null) throw new SuiteDataError(`${fileName} has no items.`);
  return kind === "pairs" ? { kind, items: pairs } : { kind, items: choices };
}

/** Reads a task file ({@link parseTaskFile}). */
export function loadTaskFile(file: string): TaskFile {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new SuiteDataError(`The task file ${file} could not be read.`);
  }
  return parseTaskFile(text, file);
}

/** The requests of a task file: per pair choice 0 = more, 1 = less (empty context); per multiple-choice item one per choice. */
export function taskFileRequests(task: TaskFile): SuiteRequest[] {
  if (task.kind === "pairs") {
    return task.items.flatMap((item, index) => [
      { item: index, choice: 0, context: "", continuation: item.more },
      { item: index, choice: 1, context: "", continuation: item.less },
    ]);
  }
  return task.items.flatMap((item, index) => item.choices.map((choice, c) => ({ item: index, choice: c, context: item.context, continuation: ` ${choice}` })));
}

export interface ChoiceMetrics {
  items: number;
  skipped: number;
  acc: number | null;
  accStderr: number | null;
  accNorm: number | null;
  accNormStderr: number | null;
}

/** acc and acc_norm of multiple-choice items from their choices' log-likelihoods (an item with a null score is skipped). */
export function choiceMetrics(items: readonly ChoiceTaskItem[], choiceLogprobs: ReadonlyArray<ReadonlyArray<number | null>>): ChoiceMetrics {
  const acc: number[] = [];
  const accNorm: number[] = [];
  items.forEach((item, i) => {
    const lls = choiceLogprobs[i] ?? [];
    if (lls.length !== item.choices.length) return;
    const pred = argmax(lls);
    const predNorm = argmax(lls.map((ll, c) => (ll === null ? null : ll / Array.from(item.choices[c] as string).length)));
    if (pred === null || predNorm === null) return;
    acc.push(pred === item.answer ? 1 : 0);
    accNorm.push(predNorm === item.answer ? 1 : 0);
  });
  return {
    items: acc.length,
    skipped: items.length - acc.length,
    acc: mean(acc),
    accStderr: meanStderr(acc),
    accNorm: mean(accNorm),
    accNormStderr: meanStderr(accNorm),
  };
}

export type TaskFileReport =
  | { kind: "pairs"; overall: PairMetrics; byLabel: Record<string, PairMetrics> }
  | { kind: "multipleChoice"; overall: ChoiceMetrics; byLabel: Record<string, ChoiceMetrics> };

/** The metrics of a task file, overall and per label (items without a label are only in `overall`). */
export function taskFileMetrics(task: TaskFile, choiceScores: ReadonlyArray<ReadonlyArray<number | null>>): TaskFileReport {
  if (choiceScores.length !== task.items.length) throw new SuiteDataError(`There are ${choiceScores.length} score rows for ${task.items.length} task items.`);
  if (task.kind === "pairs") {
    const scores: PairScore[] = choiceScores.map((row) => ({ more: row[0] ?? null, less: row[1] ?? null }));
    const byLabel: Record<string, PairMetrics> = {};
    const labelled = task.items.map((item, i) => ({ label: item.label, score: scores[i] as PairScore })).filter((e) => e.label !== null);
    for (const [label, group] of groupBy(labelled, (e) => e.label as string)) byLabel[label] = pairMetrics(group.map((e) => e.score));
    return { kind: "pairs", overall: pairMetrics(scores), byLabel };
  }
  const byLabel: Record<string, ChoiceMetrics> = {};
  const labelled = task.items.map((item, i) => ({ item, row: choiceScores[i] as ReadonlyArray<number | null> })).filter((e) => e.item.label !== null);
  for (const [label, group] of groupBy(labelled, (e) => e.item.label as string)) {
    byLabel[label] = choiceMetrics(
      group.map((e) => e.item),
      group.map((e) => e.row),
    );
  }
  return { kind: "multipleChoice", overall: choiceMetrics(task.items, choiceScores), byLabel };
}

/**
 * CrowS-Pairs (Nangia et al. 2020) as lm-evaluation-harness's `crows_pairs_english` task scores it with a causal model.
 *
 * Data: nyu-mll/crows-pairs data/crows_pairs_anonymized.csv — columns (first one unnamed: the row index), sent_more,
 * sent_less, stereo_antistereo, bias_type, annotations, anon_writer, anon_annotators.
 *
 * Requests (lm_eval/tasks/crows_pairs/crows_pairs_english.yaml: doc_to_text "", target_delimiter "", doc_to_choice
 * [sent_more, sent_less]): loglikelihood("", sent_more) and loglikelihood("", sent_less) — each sentence as a whole
 * text after the prefix token.
 *
 * Metrics (lm_eval/tasks/crows_pairs/utils.py `process_results`, both aggregated with `mean`):
 *   likelihood_diff = mean over pairs of |ll_more − ll_less|
 *   pct_stereotype  = mean over pairs of [ll_more > ll_less]   (a fraction in [0, 1]; the paper reports it × 100)
 * The stereo/antistereo direction does not flip the comparison: sent_more is always the more stereotypical sentence
 * (the dataset's README: for "stereo" sent_more demonstrates a stereotype of a historically disadvantaged group, for
 * "antistereo" sent_less violates one), and nyu-mll/crows-pairs metric.py, which swaps the sentences for antistereo
 * rows and then the comparison too, also counts the pairs where sent_more is preferred. A tie counts as not
 * stereotyped in lm-eval (metric.py counts it as neutral, also outside the numerator).
 * Standard errors: lm-eval gives both metrics `mean_stderr` (sample standard deviation / √n, so √(p(1 − p)/(n − 1))
 * for pct_stereotype); the binomial √(p(1 − p)/n) is given alongside.
 * Per bias type: lm-eval's crows_pairs_english_<type> tasks keep the rows whose bias_type starts with the type.
 */
import * as fs from "node:fs";
import { parseCsv } from "./csv";
import { binomialStderr, groupBy, mean, meanStderr, SuiteDataError, type SuiteRequest } from "./suiteData";

export type StereoDirection = "stereo" | "antistereo";

export interface CrowsPairsItem {
  sentMore: string;
  sentLess: string;
  stereoAntistereo: StereoDirection;
  biasType: string;
  /** The 1-based line of the file the row starts on. */
  line: number;
}

const REQUIRED_COLUMNS = ["sent_more", "sent_less", "stereo_antistereo", "bias_type"] as const;

/** The pairs of a CrowS-Pairs CSV text; `fileName` names the file in errors. */
export function parseCrowsPairs(text: string, fileName: string): CrowsPairsItem[] {
  const records = parseCsv(text, fileName);
  const header = records[0];
  if (header === undefined) throw new SuiteDataError(`${fileName} is empty; expected a CrowS-Pairs CSV with a header line.`);
  const column = new Map<string, number>();
  header.fields.forEach((name, index) => column.set(name.trim(), index));
  const missing = REQUIRED_COLUMNS.filter((name) => !column.has(name));
  if (missing.length > 0) throw new SuiteDataError(`${fileName} has no ${missing.join(", ")} column${missing.length > 1 ? "s" : ""} in its header line.`);
  const at = (name: (typeof REQUIRED_COLUMNS)[number]): number => column.get(name) as number;
  return records.slice(1).map((record) => {
    const field = (name: (typeof REQUIRED_COLUMNS)[number]): string => {
      const value = record.fields[at(name)];
      if (value === undefined) throw new SuiteDataError(`${fileName}: the row on line ${record.line} has ${record.fields.length} fields and no ${name}.`);
      return value;
    };
    const sentMore = field("sent_more");
    const sentLess = field("sent_less");
    const direction = field("stereo_antistereo").trim();
    const biasType = field("bias_type").trim();
    if (sentMore.trim() === "" || sentLess.trim() === "") throw new SuiteDataError(`${fileName}: the row on line ${record.line} has an empty sentence.`);
    if (direction !== "stereo" && direction !== "antistereo") {
      throw new SuiteDataError(`${fileName}: the row on line ${record.line} has stereo_antistereo ${JSON.stringify(direction)}, not "stereo" or "antistereo".`);
    }
    if (biasType === "") throw new SuiteDataError(`${fileName}: the row on line ${record.line} has no bias_type.`);
    return { sentMore, sentLess, stereoAntistereo: direction, biasType, line: record.line };
  });
}

/** Reads a CrowS-Pairs CSV file ({@link parseCrowsPairs}). */
export function loadCrowsPairs(file: string): CrowsPairsItem[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new SuiteDataError(`The CrowS-Pairs file ${file} could not be read.`);
  }
  return parseCrowsPairs(text, file);
}

/** Two requests per pair: choice 0 is sent_more, choice 1 sent_less, each given an empty context. */
export function crowsPairsRequests(items: readonly CrowsPairsItem[]): SuiteRequest[] {
  return items.flatMap((item, index) => [
    { item: index, choice: 0, context: "", continuation: item.sentMore },
    { item: index, choice: 1, context: "", continuation: item.sentLess },
  ]);
}

/** The summed log-probabilities of one pair's sentences. */
export interface PairScore {
  more: number | null;
  less: number | null;
}

/** The CrowS-Pairs metrics of a set of pairs. */
export interface PairMetrics {
  /** Pairs with both scores. */
  pairs: number;
  /** Pairs left out because a score was null. */
  skipped: number;
  /** mean |ll_more − ll_less| (nats). */
  likelihoodDiff: number | null;
  likelihoodDiffStderr: number | null;
  /** Fraction of pairs with ll_more > ll_less (lm-eval's pct_stereotype, in [0, 1]). */
  pctStereotype: number | null;
  /** lm-eval's mean_stderr of the 0/1 outcomes: √(p(1 − p)/(n − 1)). */
  pctStereotypeStderr: number | null;
  /** The binomial standard error √(p(1 − p)/n). */
  pctStereotypeBinomialStderr: number | null;
  /** Pairs with ll_more = ll_less (counted as not stereotyped). */
  ties: number;
}

/** lm-eval's crows_pairs metrics of pairs whose scores are given; pairs with a null score are counted as skipped. */
export function pairMetrics(scores: readonly PairScore[]): PairMetrics {
  const diffs: number[] = [];
  const stereotyped: number[] = [];
  let ties = 0;
  for (const { more, less } of scores) {
    if (more === null || less === null) continue;
    diffs.push(Math.abs(more - less));
    stereotyped.push(more > less ? 1 : 0);
    if (more === less) ties++;
  }
  const pct = mean(stereotyped);
  return {
    pairs: diffs.length,
    skipped: scores.length - diffs.length,
    likelihoodDiff: mean(diffs),
    likelihoodDiffStderr: meanStderr(diffs),
    pctStereotype: pct,
    pctStereotypeStderr: meanStderr(stereotyped),
    pctStereotypeBinomialStderr: binomialStderr(pct, stereotyped.length),
    ties,
  };
}

export interface CrowsPairsReport {
  overall: PairMetrics;
  /** Per bias_type, in the order the types first appear. */
  byBiasType: Record<string, PairMetrics>;
  /** Per stereo_antistereo direction (the paper's "stereotype" and "anti-stereotype" scores). */
  byDirection: Partial<Record<StereoDirection, PairMetrics>>;
}

/** The metrics overall, per bias type and per direction; `scores[i]` belongs to `items[i]`. */
export function crowsPairsMetrics(items: readonly CrowsPairsItem[], scores: readonly PairScore[]): CrowsPairsReport {
  if (scores.length !== items.length) throw new SuiteDataError(`There are ${scores.length} CrowS-Pairs scores for ${items.length} pairs.`);
  const indexed = items.map((item, i) => ({ item, score: scores[i] as PairScore }));
  const byBiasType: Record<string, PairMetrics> = {};
  for (const [type, group] of groupBy(indexed, (x) => x.item.biasType)) byBiasType[type] = pairMetrics(group.map((x) => x.score));
  const byDirection: Partial<Record<StereoDirection, PairMetrics>> = {};
  for (const [direction, group] of groupBy(indexed, (x) => x.item.stereoAntistereo))
    byDirection[direction as StereoDirection] = pairMetrics(group.map((x) => x.score));
  return { overall: pairMetrics(scores), byBiasType, byDirection };
}

/** Pair scores from the per-item choice scores of {@link crowsPairsRequests} (choice 0 sent_more, 1 sent_less). */
export function pairScores(choiceScores: ReadonlyArray<ReadonlyArray<number | null>>): PairScore[] {
  return choiceScores.map((row) => ({ more: row[0] ?? null, less: row[1] ?? null }));
}

/**
 * lm-evaluation-harness's `loglikelihood(context, continuation)` request, as pure planning functions: how the pair is
 * split and encoded, which input window a causal model is run on, which of its outputs are scored and what they must
 * predict, and how the per-position outputs become `(logprob, is_greedy)`. No model is run here.
 *
 * Sources (EleutherAI/lm-evaluation-harness):
 *  - lm_eval/api/model.py `TemplateLM.loglikelihood`: an empty context becomes `[prefix_token_id]` (the EOT token, or
 *    BOS where the model defines one) and the continuation is encoded alone; any other pair goes to `_encode_pair`.
 *  - lm_eval/api/model.py `TemplateLM._encode_pair`: trailing whitespace of the context is moved to the start of the
 *    continuation (`n_spaces = len(context) - len(context.rstrip())`), then
 *    whole = encode(context + continuation), context_enc = encode(context), continuation_enc = whole[len(context_enc):].
 *  - lm_eval/models/huggingface.py `HFLM._loglikelihood_tokens` (causal models): the input is
 *    (context_enc + continuation_enc)[-(max_length + 1):][:-1] — left-truncated, the last max_length + 1 tokens kept and
 *    the very last dropped (nothing is predicted after it); the outputs at positions [inplen − contlen, inplen) are
 *    the scored ones (`_select_cont_toks`), output j of them predicting continuation token j;
 *    logprob = Σ log p(continuation token j), is_greedy = (argmax at every scored position == continuation token).
 *    It asserts len(context_enc) > 0, len(continuation_enc) > 0 and len(continuation_enc) ≤ max_length.
 *
 * Token ids are whatever the caller's tokenizer gives with no special tokens added (HFLM's `tok_encode` adds none for
 * causal models unless the model asks for a BOS token).
 */

/** A tokenizer as a loglikelihood request needs it: text → token ids, no special tokens added. */
export interface TokenIdEncoder {
  encode(text: string): readonly number[];
}

/** Adapts a tokenizer whose `encode` gives `{ ids, … }` (the project's `TextTokenizer`) to {@link TokenIdEncoder}. */
export function tokenIdEncoder(tokenizer: { encode(text: string): { ids: readonly number[] } }): TokenIdEncoder {
  return { encode: (text) => tokenizer.encode(text).ids };
}

/** Bad input to a loglikelihood request; the message is one sentence naming what was wrong. */
export class LoglikelihoodError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LoglikelihoodError";
  }
}

/** One `loglikelihood(context, continuation)` request: the log-probability of `continuation` given `context`. */
export interface LoglikelihoodRequest {
  context: string;
  continuation: string;
}

/** A request's context and continuation as token ids. */
export interface EncodedPair {
  contextIds: number[];
  continuationIds: number[];
  /**
   * Whether encode(context + continuation) starts with encode(context). When it does not (a token merged across the
   * boundary), the continuation ids are still whole[len(context_enc):] as lm-eval takes them, but the window context
   * + continuation is not the text's own tokenization.
   */
  contextMatchesWhole: boolean;
}

/**
 * Python's `str.isspace()` characters (the ones `str.rstrip()` removes): \t \n \v \f \r, \x1c–\x1f, space, \x85,
 * \xa0, \u1680, \u2000–\u200a, \u2028, \u2029, \u202f, \u205f, \u3000. JavaScript's `trimEnd` differs (it also strips
 * \ufeff and keeps \x1c–\x1f and \x85), so the set is written out. All are single UTF-16 units.
 */
function isPythonWhitespace(code: number): boolean {
  return (
    (code >= 0x09 && code <= 0x0d) ||
    (code >= 0x1c && code <= 0x20) ||
    code === 0x85 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}

/**
 * lm-eval's `_encode_pair` first step: the context's trailing whitespace moved to the start of the continuation, so
 * ("hello ", "world") becomes ("hello", " world") and the space is scored with the word it belongs to.
 */
export function splitPair(context: string, continuation: string): LoglikelihoodRequest {
  let end = context.length;
  while (end > 0 && isPythonWhitespace(context.charCodeAt(end - 1))) end--;
  return { context: context.slice(0, end), continuation: context.slice(end) + continuation };
}

function idsOf(encoder: TokenIdEncoder, text: string): number[] {
  return Array.from(encoder.encode(text));
}

function startsWith(whole: readonly number[], prefix: readonly number[]): boolean {
  if (prefix.length > whole.length) return false;
  for (let i = 0; i < prefix.length; i++) if (whole[i] !== prefix[i]) return false;
  return true;
}

/**
 * lm-eval's `_encode_pair`: the pair split ({@link splitPair}), then encoded together — whole = encode(context +
 * continuation), context = encode(context), continuation = whole[len(context):] — so the continuation's tokens are
 * those of the whole text, not of the continuation encoded alone.
 */
export function encodePair(encoder: TokenIdEncoder, context: string, continuation: string): EncodedPair {
  const split = splitPair(context, continuation);
  const whole = idsOf(encoder, split.context + split.continuation);
  const contextIds = idsOf(encoder, split.context);
  return { contextIds, continuationIds: whole.slice(contextIds.length), contextMatchesWhole: startsWith(whole, contextIds) };
}

/**
 * lm-eval's `TemplateLM.loglikelihood` encoding of one request: an empty context is `[prefixId]` with the continuation
 * encoded alone; any other context goes through {@link encodePair}. A context of whitespace only, which the split
 * leaves empty, also gets `[prefixId]` (lm-eval would assert there, its context encoding being empty).
 */
export function encodeRequest(encoder: TokenIdEncoder, request: LoglikelihoodRequest, prefixId: number): EncodedPair {
  if (request.context === "") return { contextIds: [prefixId], continuationIds: idsOf(encoder, request.continuation), contextMatchesWhole: true };
  const pair = encodePair(encoder, request.context, request.continuation);
  if (pair.contextIds.length === 0) return { ...pair, contextIds: [prefixId] };
  return pair;
}

/** What the model is run on for one request and which of its outputs are scored. */
export interface RequestPlan {
  /** The input window: (context + continuation)[-(maxLength + 1):][:-1]. */
  inputIds: number[];
  /**
   * The first scored position: the outputs at positions scoredFrom … inputIds.length − 1 are scored, the output at
   * position scoredFrom + j predicting targetIds[j]. scoredFrom = inputIds.length − targetIds.length.
   */
  scoredFrom: number;
  /** The continuation's tokens, which the scored positions must predict, in order. */
  targetIds: number[];
  /** Context tokens dropped from the left to fit maxLength (0 when nothing was cut). */
  truncatedTokens: number;
}

function checkIds(ids: readonly number[], what: string): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0)
      throw new LoglikelihoodError(`Token ${i} of the ${what} is ${String(id)}, not a token id (a non-negative integer).`);
  }
}

/**
 * The input window of one request after truncation to `maxLength` (HFLM `_loglikelihood_tokens`, causal models):
 * left-truncated, the last maxLength + 1 tokens of context + continuation kept and the last of them dropped. An empty
 * `contextIds` is `[prefixId]`, as lm-eval gives an empty context.
 */
export function planRequest(contextIds: readonly number[], continuationIds: readonly number[], maxLength: number, prefixId: number): RequestPlan {
  if (!Number.isInteger(maxLength) || maxLength < 1)
    throw new LoglikelihoodError(`The maximum length must be a positive whole number of tokens, not ${String(maxLength)}.`);
  if (!Number.isInteger(prefixId) || prefixId < 0) throw new LoglikelihoodError(`The prefix token id must be a non-negative integer, not ${String(prefixId)}.`);
  checkIds(contextIds, "context");
  checkIds(continuationIds, "continuation");
  if (continuationIds.length === 0) throw new LoglikelihoodError("The continuation has no tokens, so there is nothing to score.");
  if (continuationIds.length > maxLength) {
    throw new LoglikelihoodError(`The continuation is ${continuationIds.length} tokens, more than the ${maxLength} tokens the model can take.`);
  }
  const context = contextIds.length === 0 ? [prefixId] : Array.from(contextIds);
  const all = context.concat(Array.from(continuationIds));
  const kept = all.slice(Math.max(0, all.length - (maxLength + 1)));
  const inputIds = kept.slice(0, -1);
  return {
    inputIds,
    scoredFrom: inputIds.length - continuationIds.length,
    targetIds: Array.from(continuationIds),
    truncatedTokens: all.length - kept.length,
  };
}

/** One scored continuation token. */
export interface ScoredTarget {
  id: number;
  /** log p(id | what precedes it), natural log; null when the output was not a finite number. */
  logprob: number | null;
  /** The argmax token id at that position. */
  greedyId: number;
  isGreedy: boolean;
}

/** The answer to one request. */
export interface LoglikelihoodResult {
  /** Σ of the continuation tokens' log-probabilities (natural log); null when any of them is null. */
  logprob: number | null;
  /** Whether greedy decoding from the context gives the continuation: the argmax equals the target at every scored position. */
  isGreedy: boolean;
  tokens: ScoredTarget[];
}

/** The scored-position part of per-position outputs given for the whole window or for the scored positions only. */
function scoredPart<T>(plan: RequestPlan, values: readonly T[], what: string): readonly T[] {
  if (values.length === plan.targetIds.length) return values;
  if (values.length === plan.inputIds.length) return values.slice(plan.scoredFrom);
  throw new LoglikelihoodError(
    `The ${what} have ${values.length} entries; expected one per scored position (${plan.targetIds.length}) or one per input position (${plan.inputIds.length}).`,
  );
}

/**
 * `(logprob, is_greedy)` of a planned request from the model's outputs. `perPositionLogprobs[j]` is the log-probability
 * the output at that position gives to the token it must predict, `perPositionArgmax[j]` the id of its most probable
 * token; both are given either for the scored positions only (length targetIds.length) or for every input position
 * (length inputIds.length, of which the last targetIds.length are taken).
 */
export function collectResult(plan: RequestPlan, perPositionLogprobs: readonly (number | null)[], perPositionArgmax: readonly number[]): LoglikelihoodResult {
  const logprobs = scoredPart(plan, perPositionLogprobs, "log-probabilities");
  const argmax = scoredPart(plan, perPositionArgmax, "argmax ids");
  let sum: number | null = 0;
  let isGreedy = true;
  const tokens: ScoredTarget[] = plan.targetIds.map((id, j) => {
    const raw = logprobs[j];
    const logprob = typeof raw === "number" && Number.isFinite(raw) ? raw : null;
    const greedyId = argmax[j];
    if (typeof greedyId !== "number" || !Number.isInteger(greedyId) || greedyId < 0) {
      throw new LoglikelihoodError(`The argmax at scored position ${j} is ${String(greedyId)}, not a token id.`);
    }
    sum = sum === null || logprob === null ? null : sum + logprob;
    const greedy = greedyId === id;
    if (!greedy) isGreedy = false;
    return { id, logprob, greedyId, isGreedy: greedy };
  });
  return { logprob: sum, isGreedy, tokens };
}

/** One request of a {@link PrefixBatch}. */
export interface PrefixBatchEntry {
  /** The request's index in the list given to {@link planPrefixBatches}. */
  request: number;
  /** The tokens to run after the batch's shared prefix: inputIds.slice(sharedPrefixLength). */
  runIds: number[];
}

/** Requests whose input windows start with the same tokens, evaluated with that prefix run once. */
export interface PrefixBatch {
  /** The longest common prefix of the batch's input windows: run once, its keys/values reused by every entry. */
  sharedPrefix: number[];
  sharedPrefixLength: number;
  /**
   * The first prefix position whose output some entry scores (its context's last token, or earlier when the entries
   * share continuation tokens too); the prefix run's outputs at [prefixOutputsFrom, sharedPrefixLength) must be kept.
   * Equal to sharedPrefixLength when no entry scores a prefix position.
   */
  prefixOutputsFrom: number;
  entries: PrefixBatchEntry[];
}

function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

function compareIds(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export interface PrefixBatchOptions {
  /**
   * The batch a request belongs to. By default requests are grouped by the context part of their input window
   * (inputIds[0 … scoredFrom]), so a task's choices, which share their context, form one batch; a suite whose requests
   * have an empty context (CrowS-Pairs, StereoSet) groups by item instead, so the sentences of one item share their
   * common leading tokens.
   */
  groupOf?: (request: number) => string;
}

/**
 * Groups planned requests so that a caller with a prefix KV cache runs each batch's shared prefix once and then only
 * each entry's `runIds` from that cache. Batches are ordered by their shared prefix (token ids compared in order), so
 * batches with a common start are adjacent; entries keep the order they were given in.
 */
export function planPrefixBatches(plans: readonly RequestPlan[], options: PrefixBatchOptions = {}): PrefixBatch[] {
  const groups = new Map<string, number[]>();
  plans.forEach((plan, index) => {
    const key = options.groupOf ? `g:${options.groupOf(index)}` : `c:${plan.inputIds.slice(0, plan.scoredFrom + 1).join(",")}`;
    const members = groups.get(key);
    if (members) members.push(index);
    else groups.set(key, [index]);
  });
  const batches: PrefixBatch[] = [];
  for (const members of groups.values()) {
    const windows = members.map((index) => (plans[index] as RequestPlan).inputIds);
    const first = windows[0] as number[];
    let shared = first.length;
    for (const window of windows) shared = Math.min(shared, commonPrefixLength(first, window));
    let prefixOutputsFrom = shared;
    for (const index of members) prefixOutputsFrom = Math.min(prefixOutputsFrom, (plans[index] as RequestPlan).scoredFrom);
    batches.push({
      sharedPrefix: first.slice(0, shared),
      sharedPrefixLength: shared,
      prefixOutputsFrom,
      entries: members.map((index) => ({ request: index, runIds: (plans[index] as RequestPlan).inputIds.slice(shared) })),
    });
  }
  batches.sort((a, b) => compareIds(a.sharedPrefix, b.sharedPrefix) || (a.entries[0]?.request ?? 0) - (b.entries[0]?.request ?? 0));
  return batches;
}

/**
 * A batch entry's outputs at its scored positions, from the outputs kept of the shared-prefix run (those at positions
 * [batch.prefixOutputsFrom, sharedPrefixLength)) and those of its own run (one per `runIds` token). The result, one
 * per target token, is what {@link collectResult} takes.
 */
export function entryScoredOutputs<T>(
  batch: PrefixBatch,
  entry: PrefixBatchEntry,
  plan: RequestPlan,
  prefixOutputs: readonly T[],
  runOutputs: readonly T[],
): T[] {
  const keptPrefix = batch.sharedPrefixLength - batch.prefixOutputsFrom;
  if (prefixOutputs.length !== keptPrefix)
    throw new LoglikelihoodError(`The prefix run gave ${prefixOutputs.length} kept outputs; the batch keeps ${keptPrefix}.`);
  if (runOutputs.length !== entry.runIds.length)
    throw new LoglikelihoodError(`Request ${entry.request}'s run gave ${runOutputs.length} outputs for ${entry.runIds.length} tokens.`);
  const window = prefixOutputs
    .slice(Math.max(0, plan.scoredFrom - batch.prefixOutputsFrom))
    .concat(runOutputs.slice(Math.max(0, plan.scoredFrom - batch.sharedPrefixLength)));
  if (window.length !== plan.targetIds.length)
    throw new LoglikelihoodError(
      `Request ${entry.request} does not belong to this batch (it gives ${window.length} scored outputs for ${plan.targetIds.length} targets).`,
    );
  return window;
}

/** Tokens a caller runs for a set of batches, against running every request's window in full. */
export interface BatchTokenCounts {
  requests: number;
  batches: number;
  /** Σ over requests of the input window's length: what a caller without a prefix cache runs. */
  tokensRequested: number;
  /** Σ over batches of sharedPrefixLength + Σ over its entries of runIds.length. */
  tokensRun: number;
}

/** Tokens requested vs tokens run for {@link planPrefixBatches}'s batches. */
export function countBatchTokens(batches: readonly PrefixBatch[]): BatchTokenCounts {
  let requests = 0;
  let tokensRequested = 0;
  let tokensRun = 0;
  for (const batch of batches) {
    tokensRun += batch.sharedPrefixLength;
    for (const entry of batch.entries) {
      requests++;
      tokensRequested += batch.sharedPrefixLength + entry.runIds.length;
      tokensRun += entry.runIds.length;
    }
  }
  return { requests, batches: batches.length, tokensRequested, tokensRun };
}

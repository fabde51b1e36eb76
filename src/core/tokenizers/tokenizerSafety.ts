/**
 * What a tokenizer.json may ask of the engine, checked before @huggingface/tokenizers builds it: that library runs
 * the file's regular expressions with JavaScript's backtracking RegExp and its normalizers on the whole text, so a
 * hostile file could stall the worker (`^(\w+\s?)*$` took 11 s on 44 characters) or exhaust its memory (a Sequence of
 * 30 Replace steps that each triple the text). Two checks, each refused in one sentence naming tokenizer.json and
 * the part:
 *
 * - **Nested repetition.** Every regex pattern (normalizer, pre_tokenizer and decoder Replace, Split) is parsed in
 *   the Oniguruma syntax the file uses, and one is refused when a repetition (`*`, `+`, `{n,}`, or `{n,m}` with m > 1)
 *   contains another one and at least one of the two is unbounded — the star-height-2 shape behind exponential
 *   backtracking. It is allowed where nothing follows it in its alternative of the whole pattern (outside
 *   lookarounds): there the first, greedy way of matching succeeds, so the engine never backtracks into it. The
 *   standard GPT-2, Llama 3, Qwen 2 and GPT-4o split patterns have no nested repetition. Not caught (polynomial, or
 *   needing more than a syntactic check): overlapping alternatives under one repetition such as `(a|a)*b`, and
 *   adjacent overlapping repetitions such as `\s*\s*\s*x`; the engine worker's watchdog is the backstop for those.
 * - **Expansion.** Each normalizer and pre-tokenizer step has a bound on how many times longer it can make the text
 *   (UTF-16 units out per unit in, measured over every code point for the Unicode forms); a Sequence multiplies its
 *   steps' bounds. Normalizer and pre-tokenizer are each refused above {@link MAX_EXPANSION}.
 */
import { isJsonObject, type JsonObject } from "./tokenizerFamily";

/** How many times longer the normalizer (and, separately, the pre-tokenizer) may make a text. */
export const MAX_EXPANSION = 64;

/**
 * UTF-16 units out per unit in, the most over every code point (measured with String.prototype.normalize and
 * toLowerCase: NFC 3, NFD 4, NFKC and NFKD 18, lowercase 2; NFC is bounded by NFD). The unit test re-measures them.
 */
export const UNICODE_EXPANSION = { NFC: 4, NFD: 4, NFKC: 18, NFKD: 18, lowercase: 2 } as const;

/** A tokenizer.json refused by these checks; its message is the sentence, beginning "tokenizer.json: ". */
export class UnsafeTokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsafeTokenizerError";
  }
}

// ---------------------------------------------------------------- regular expressions

type Node =
  | { kind: "atom"; minLength: number }
  | { kind: "group"; alternatives: Node[][]; lookaround: boolean }
  | { kind: "repeat"; body: Node; min: number; max: number };

class RegexSyntax {
  private i = 0;
  constructor(private readonly source: string) {}

  parse(): Node[][] {
    const alternatives = this.alternatives();
    // An unbalanced ")" is left to the library to report; the rest is parsed as if it began a new pattern.
    while (this.i < this.source.length) {
      this.i++;
      alternatives.push(...this.alternatives());
    }
    return alternatives;
  }

  private alternatives(): Node[][] {
    const out: Node[][] = [this.sequence()];
    while (this.source[this.i] === "|") {
      this.i++;
      out.push(this.sequence());
    }
    return out;
  }

  private sequence(): Node[] {
    const nodes: Node[] = [];
    while (this.i < this.source.length && this.source[this.i] !== "|" && this.source[this.i] !== ")") {
      let node = this.atom();
      if (node === null) continue;
      for (;;) {
        const quantifier = this.quantifier();
        if (quantifier === null) break;
        node = { kind: "repeat", body: node, ...quantifier };
      }
      nodes.push(node);
    }
    return nodes;
  }

  /** A quantifier after an atom, or null. A lazy `?` or possessive `+` after `*`, `+`, `?` is part of it (the library drops the possessive). */
  private quantifier(): { min: number; max: number } | null {
    const c = this.source[this.i];
    let q: { min: number; max: number } | null = null;
    if (c === "*") q = { min: 0, max: Infinity };
    else if (c === "+") q = { min: 1, max: Infinity };
    else if (c === "?") q = { min: 0, max: 1 };
    if (q !== null) {
      this.i++;
      if (this.source[this.i] === "?" || this.source[this.i] === "+") this.i++;
      return q;
    }
    if (c === "{") {
      const m = /^\{(\d*)(?:(,)(\d*))?\}/.exec(this.source.slice(this.i));
      if (m === null || (m[1] === "" && (m[2] === undefined || m[3] === ""))) return null;
      this.i += m[0].length;
      // A lazy "?" belongs to it; a following "+" or "*" is a quantifier of its own (the library nests them).
      if (this.source[this.i] === "?") this.i++;
      const min = m[1] === "" ? 0 : Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
      return { min, max };
    }
    return null;
  }

  private atom(): Node | null {
    const s = this.source;
    const c = s[this.i]!;
    if (c === "(") return this.group();
    if (c === "[") {
      this.characterClass();
      return { kind: "atom", minLength: 1 };
    }
    if (c === "\\") return this.escape();
    this.i += c.length;
    if (c === "^" || c === "$") return { kind: "atom", minLength: 0 };
    if (c === "{" || c === "}" || c === "*" || c === "+" || c === "?") return { kind: "atom", minLength: 1 }; // a literal (or an error the library reports)
    return { kind: "atom", minLength: 1 };
  }

  private group(): Node | null {
    const s = this.source;
    this.i++; // "("
    let lookaround = false;
    if (s[this.i] === "?") {
      const rest = s.slice(this.i);
      if (rest.startsWith("?#")) {
        const end = s.indexOf(")", this.i);
        this.i = end < 0 ? s.length : end + 1;
        return null;
      }
      const prefix = /^\?(?:[=!]|<[=!]|<[A-Za-z_]\w*>|P<[A-Za-z_]\w*>|'[A-Za-z_]\w*'|>|[A-Za-z-]*:|[A-Za-z-]*(?=\)))/.exec(rest);
      if (prefix !== null) {
        lookaround = /^\?(?:[=!]|<[=!])/.test(prefix[0]);
        this.i += prefix[0].length;
      } else this.i++;
    }
    const alternatives = this.alternatives();
    if (s[this.i] === ")") this.i++;
    return { kind: "group", alternatives, lookaround };
  }

  private characterClass(): void {
    const s = this.source;
    let depth = 0;
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (c === "\\") {
        this.i += 2;
        continue;
      }
      if (c === "[") {
        depth++;
        this.i++;
        if (s[this.i] === "^") this.i++;
        if (s[this.i] === "]") this.i++; // a leading "]" is literal
        continue;
      }
      this.i++;
      if (c === "]" && --depth === 0) return;
    }
  }

  private escape(): Node {
    const s = this.source;
    const next = s[this.i + 1] ?? "";
    this.i += 2;
    if ((next === "p" || next === "P" || next === "x" || next === "k" || next === "g") && (s[this.i] === "{" || s[this.i] === "<")) {
      const close = s.indexOf(s[this.i] === "{" ? "}" : ">", this.i);
      this.i = close < 0 ? s.length : close + 1;
    } else if (next === "p" || next === "P")
      this.i += 1; // \pL
    else if (next === "x") this.i += 2;
    else if (next === "u") this.i += 4;
    if (/^[bBAzZG]$/.test(next) || /^[1-9kg]$/.test(next)) return { kind: "atom", minLength: 0 };
    return { kind: "atom", minLength: 1 };
  }
}

function minLength(nodes: readonly Node[]): number {
  let total = 0;
  for (const node of nodes) {
    if (node.kind === "atom") total += node.minLength;
    else if (node.kind === "repeat") total += node.min * minLength([node.body]);
    else if (!node.lookaround) total += Math.min(...node.alternatives.map(minLength));
  }
  return total;
}

const repeats = (max: number): boolean => max > 1;

function containsRepetition(node: Node, unboundedOnly: boolean): boolean {
  if (node.kind === "atom") return false;
  if (node.kind === "repeat") return (repeats(node.max) && (!unboundedOnly || node.max === Infinity)) || containsRepetition(node.body, unboundedOnly);
  return node.alternatives.some((alt) => alt.some((n) => containsRepetition(n, unboundedOnly)));
}

/** Whether a repetition nests another with at least one of them unbounded, other than where nothing follows it. */
function hasNestedRepetition(alternatives: readonly Node[][], tail: boolean): boolean {
  for (const alt of alternatives) {
    for (let k = 0; k < alt.length; k++) {
      const node = alt[k]!;
      const last = tail && k === alt.length - 1;
      if (node.kind === "group") {
        if (hasNestedRepetition(node.alternatives, last && !node.lookaround)) return true;
      } else if (node.kind === "repeat") {
        if (!last && repeats(node.max) && containsRepetition(node.body, node.max !== Infinity)) return true;
        if (hasNestedRepetition([[node.body]], false)) return true;
      }
    }
  }
  return false;
}

/** Whether `pattern` (Oniguruma syntax, as tokenizer.json writes it) can take exponential time: nested repetition. */
export function hasCatastrophicBacktracking(pattern: string): boolean {
  return hasNestedRepetition(new RegexSyntax(pattern).parse(), true);
}

/** The shortest text `pattern` can match (0 when it can match the empty string). */
export function regexMinLength(pattern: string): number {
  return Math.min(...new RegexSyntax(pattern).parse().map(minLength));
}

// ---------------------------------------------------------------- walking tokenizer.json

interface Part {
  /** "pre_tokenizer Sequence step 2 Split" */
  label: string;
  node: JsonObject;
}

const SEQUENCE_FIELDS: Record<string, string> = { normalizer: "normalizers", pre_tokenizer: "pretokenizers", decoder: "decoders" };

/** Every step of `section` (a Sequence's steps, recursively), labelled as the sentences name them. */
function steps(section: string, node: unknown, label = section): Part[] {
  if (!isJsonObject(node)) return [];
  const type = typeof node.type === "string" ? node.type : "?";
  if (type === "Sequence") {
    const list = node[SEQUENCE_FIELDS[section]!];
    if (!Array.isArray(list)) return [];
    return list.flatMap((step, i) => steps(section, step, `${label} Sequence step ${i + 1}`));
  }
  return [{ label: `${label} ${type}`, node }];
}

function quote(pattern: string): string {
  return `"${pattern.length > 80 ? `${pattern.slice(0, 77)}…` : pattern}"`;
}

/** Content of a Replace as JavaScript's replaceAll reads it: literal length, references to the match, and whether it copies text around the match. */
function replacementShape(content: string): { literal: number; references: number; surrounding: boolean } {
  let literal = 0;
  let references = 0;
  let surrounding = false;
  for (let i = 0; i < content.length; i++) {
    if (content[i] !== "$" || i === content.length - 1) {
      literal++;
      continue;
    }
    const next = content[i + 1]!;
    if (next === "$") {
      literal++;
      i++;
    } else if (next === "&" || /\d/.test(next)) {
      references++;
      i++;
    } else if (next === "<" && content.indexOf(">", i) > 0) {
      references++;
      i = content.indexOf(">", i);
    } else if (next === "`" || next === "'") {
      surrounding = true;
      i++;
    } else literal++;
  }
  return { literal, references, surrounding };
}

/** How many times longer a Replace step can make the text (Infinity: without bound). */
function replaceExpansion(node: JsonObject): number {
  const pattern = node.pattern;
  const content = typeof node.content === "string" ? node.content : "";
  const { literal, references, surrounding } = replacementShape(content);
  if (surrounding) return Infinity;
  let shortest = 0;
  if (isJsonObject(pattern) && typeof pattern.String === "string") {
    // An empty string matches between every two units (and at both ends): `literal` more per unit.
    if (pattern.String.length === 0) return 1 + literal;
    shortest = pattern.String.length;
  } else if (isJsonObject(pattern) && typeof pattern.Regex === "string") shortest = regexMinLength(pattern.Regex);
  else return 1;
  // A match of m ≥ shortest units becomes literal + references·m units; an empty match adds `literal` between any two units.
  return shortest > 0 ? Math.max(1, literal / shortest + references) : 1 + 2 * literal + references;
}

function normalizerExpansion(node: JsonObject): number {
  switch (node.type) {
    case "Replace":
      return replaceExpansion(node);
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD":
      return UNICODE_EXPANSION[node.type];
    case "Precompiled": // the library applies NFKC
      return UNICODE_EXPANSION.NFKC;
    case "Lowercase":
      return UNICODE_EXPANSION.lowercase;
    case "BertNormalizer": // spaces around CJK characters (×3), accents stripped after NFD, lowercase
      return 3 * UNICODE_EXPANSION.NFD * UNICODE_EXPANSION.lowercase;
    case "StripAccents": // NFD, marks removed
      return UNICODE_EXPANSION.NFD;
    default: // Strip, Prepend (a constant), and types the library refuses
      return 1;
  }
}

function preTokenizerExpansion(node: JsonObject): number {
  switch (node.type) {
    case "Replace":
      return replaceExpansion(node);
    case "ByteLevel": // one character per UTF-8 byte: at most 3 per UTF-16 unit
      return 3;
    default: // splitting, Metaspace's one-for-one replacement
      return 1;
  }
}

function formatFactor(factor: number): string {
  if (!Number.isFinite(factor)) return "without bound";
  const shown = factor >= 1e6 ? factor.toExponential(2) : String(Math.round(factor * 100) / 100);
  return `up to ${shown} times`;
}

/**
 * Null when tokenizer.json asks nothing the engine cannot afford; otherwise the one sentence that refuses it (the first
 * problem found: regexes of normalizer, pre_tokenizer, decoder, then the expansion of normalizer and pre_tokenizer).
 */
export function tokenizerSafetyProblem(tokenizerJson: JsonObject): string | null {
  const sections = ["normalizer", "pre_tokenizer", "decoder"] as const;
  const parts = Object.fromEntries(sections.map((s) => [s, steps(s, tokenizerJson[s])])) as Record<(typeof sections)[number], Part[]>;
  for (const section of sections) {
    for (const { label, node } of parts[section]) {
      const pattern = node.pattern;
      if (!isJsonObject(pattern) || typeof pattern.Regex !== "string") continue;
      if (hasCatastrophicBacktracking(pattern.Regex))
        return `tokenizer.json: ${label} pattern ${quote(pattern.Regex)} can take exponential time (nested repetition); refused.`;
    }
  }
  for (const [section, expansion] of [
    ["normalizer", normalizerExpansion],
    ["pre_tokenizer", preTokenizerExpansion],
  ] as const) {
    let factor = 1;
    for (const { node } of parts[section]) factor *= expansion(node);
    if (factor > MAX_EXPANSION) {
      const top = tokenizerJson[section];
      const what = isJsonObject(top) && typeof top.type === "string" ? `${section} ${top.type}` : section;
      return `tokenizer.json: ${what} can make the text ${formatFactor(factor)} longer (more than ${MAX_EXPANSION}); refused.`;
    }
  }
  return null;
}

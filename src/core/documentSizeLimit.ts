/**
 * The oversized-document policy, once for every entry point (scoring in the editor, Compare Tokenizers, the command
 * line): a text longer than the limit (UTF-16 code units) is either cut to it — never inside a surrogate pair — or
 * refused, and either way the user is told in one sentence.
 */

export type OversizedPolicy = "truncate" | "refuse";

export type SizeLimited =
  { kind: "whole"; text: string } | { kind: "truncated"; text: string; originalLength: number } | { kind: "refused"; originalLength: number };

/** The text to work on under `limit` characters and `policy`. */
export function limitDocumentSize(text: string, limit: number, policy: OversizedPolicy): SizeLimited {
  if (text.length <= limit) return { kind: "whole", text };
  if (policy === "refuse") return { kind: "refused", originalLength: text.length };
  let cut = limit;
  const last = text.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--; // do not split a surrogate pair
  return { kind: "truncated", text: text.slice(0, cut), originalLength: text.length };
}

const count = (n: number): string => n.toLocaleString("en-US");

/**
 * The sentence that says what happened to `what` ("notes.md", "The selection"); `sources` names where the limit
 * (and, for a cut text, the policy) come from; `action` what was or was not done ("scored", "compared"). Null for a
 * whole text.
 */
export function describeSizeLimit(what: string, limited: SizeLimited, limit: number, sources: SizeLimitSources, action = "scored"): string | null {
  switch (limited.kind) {
    case "whole":
      return null;
    case "refused":
      return `${what} has ${count(limited.originalLength)} characters, more than the limit of ${count(limit)} (${sources.limit}), so it was not ${action}.`;
    case "truncated":
      return `${what} has ${count(limited.originalLength)} characters; only the first ${count(limited.text.length)} are ${action} (${sources.both}).`;
  }
}

export interface SizeLimitSources {
  /** Where the limit comes from, e.g. "setting perplexityLens.maxDocumentSize". */
  limit: string;
  /** Where the limit and the policy come from. */
  both: string;
}

/** The settings, as the editor's messages name them. */
export const EDITOR_SIZE_SETTINGS: SizeLimitSources = {
  limit: "setting perplexityLens.maxDocumentSize",
  both: "settings perplexityLens.maxDocumentSize and perplexityLens.oversizedDocuments",
};

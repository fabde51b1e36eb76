import * as fs from "node:fs";
import { describeSizeLimit, limitDocumentSize, type OversizedPolicy, type SizeLimitSources } from "../core/documentSizeLimit";
import { EngineError } from "../core/engineError";
import { BoundedFileError, formatBytes, readBoundedFile, readBoundedStdin } from "../core/boundedFile";

/** The command line's names for the limit and the policy, as its messages say them. */
export const CLI_SIZE_FLAGS: SizeLimitSources = {
  limit: "--max-document-size",
  both: "--max-document-size and --oversized-documents",
};

/**
 * `readInput` under the document size limit, as the extension applies it (src/core/documentSizeLimit.ts): a longer
 * text is cut, with the sentence on standard error, or refused with it.
 */
export function readLimitedInput(file: string, purpose: "scored" | "compared", limit: number, policy: OversizedPolicy): string {
  const limited = limitDocumentSize(readInput(file, purpose), limit, policy);
  const sentence = describeSizeLimit(file === "-" ? "Standard input" : file, limited, limit, CLI_SIZE_FLAGS, purpose);
  if (limited.kind === "refused") throw new EngineError("badInput", sentence!);
  if (sentence !== null) process.stderr.write(`perplexity-lens: warning: ${sentence}\n`);
  return limited.text;
}

/**
 * The text of FILE (or standard input for "-"), for `score` and `compare`. Missing, unreadable and binary input
 * (NUL bytes) is refused in one sentence; invalid UTF-8 is scored, not refused (a log with one stray Latin-1 byte is
 * still text worth scoring), but the user is told: each invalid sequence becomes U+FFFD, which the model scores as
 * that character. `purpose` completes "… so it looks binary and is not <purpose>".
 */
/** The most bytes the command line reads as one document (standard input stops being read there). */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

export function readInput(file: string, purpose: "scored" | "compared"): string {
  let bytes: Buffer;
  try {
    const read =
      file === "-"
        ? readBoundedStdin(MAX_INPUT_BYTES, "the document")
        : readBoundedFile(file, { maxBytes: MAX_INPUT_BYTES, what: "the document", truncate: true });
    if (read.truncated)
      throw new EngineError(
        "badInput",
        `${file === "-" ? "Standard input" : file} (the document) holds more than the ${formatBytes(MAX_INPUT_BYTES)} the command line reads, so it is not ${purpose}.`,
      );
    bytes = read.bytes;
  } catch (e) {
    if (e instanceof EngineError) throw e;
    if (e instanceof BoundedFileError) {
      if (e.reason === "missing") throw new EngineError("badInput", `The file ${file} does not exist.`);
      if (e.reason === "notRegular" && fs.existsSync(file) && fs.statSync(file).isDirectory())
        throw new EngineError("badInput", `${file} is a folder, not a text file.`);
      throw new EngineError("badInput", e.message);
    }
    const code = (e as NodeJS.ErrnoException).code;
    throw new EngineError("badInput", `The file ${file} could not be read (${code ?? (e as Error).message}).`);
  }
  const name = file === "-" ? "Standard input" : file;
  if (bytes.includes(0)) throw new EngineError("badInput", `${name} contains NUL bytes, so it looks binary and is not ${purpose}.`);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const text = bytes.toString("utf8");
    const replaced = [...text.matchAll(/\uFFFD/g)].length - [...bytes.toString("latin1").matchAll(/\xEF\xBF\xBD/g)].length;
    process.stderr.write(
      `perplexity-lens: warning: ${name} is not valid UTF-8; ${replaced} invalid byte sequence${replaced === 1 ? " was" : "s were"} replaced with U+FFFD before ${purpose === "scored" ? "scoring" : "comparing"}.\n`,
    );
    return text;
  }
}

/**
 * The one way the engine and the command line read a file a user or a model folder names: opened non-blocking (a FIFO
 * with no writer does not hang the reader), checked with fstat to be a regular file (no /dev/zero, /dev/urandom,
 * FIFOs, sockets or folders), bounded in size, and, given a root, kept inside it through symlinks. Every refusal is a
 * BoundedFileError whose message is one sentence naming the file, the limit and what was found; it never quotes the
 * file's contents.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export class BoundedFileError extends Error {
  constructor(
    message: string,
    /** Why: the path does not exist, leaves its root, is not a regular file, is too large, or could not be read. */
    readonly reason: "missing" | "outsideRoot" | "notRegular" | "tooLarge" | "unreadable",
  ) {
    super(message);
  }
}

/** Size limits by kind of file. Graphs and their external data are loaded by onnxruntime (memory-mapped), so only 2 GiB protobuf bounds them. */
export const FILE_LIMITS = {
  /** config.json, tokenizer_config.json, genai_config.json, adapter_config.json. */
  jsonConfig: 16 * 1024 * 1024,
  /** tokenizer.json (a 256k-vocabulary tokenizer is ~35 MB). */
  tokenizerJson: 64 * 1024 * 1024,
  /** An ONNX graph read into memory (protobuf cannot exceed 2 GiB). */
  onnxGraph: 2 ** 31 - 1,
  /** A safetensors adapter file. */
  adapterWeights: 1024 * 1024 * 1024,
} as const;

export interface BoundedReadOptions {
  /** Largest size accepted. */
  maxBytes: number;
  /** What the file is, for messages ("config.json", "the document"). */
  what: string;
  /** When set, the file's real path (through symlinks) must lie inside this folder's real path. */
  root?: string;
  /** Read at most maxBytes and return them (with `truncated`) instead of refusing a larger file. */
  truncate?: boolean;
}

export interface BoundedRead {
  bytes: Buffer;
  /** True when the file was larger than maxBytes and only maxBytes were read (truncate). */
  truncated: boolean;
}

function describe(stat: fs.Stats): string {
  if (stat.isDirectory()) return "a folder";
  if (stat.isFIFO()) return "a named pipe (FIFO)";
  if (stat.isSocket()) return "a socket";
  if (stat.isCharacterDevice()) return "a character device";
  if (stat.isBlockDevice()) return "a block device";
  return "not a regular file";
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 * 1024) return `${+(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 * 1024) return `${+(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

/** Whether `child` (a real path) is `root` (a real path) or inside it. */
export function isInside(root: string, child: string): boolean {
  const rel = path.relative(root, child);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/**
 * The real path of `file` after checking it stays inside `root` (when given). Throws BoundedFileError (missing,
 * outsideRoot).
 */
export function realPathInside(file: string, what: string, root?: string): string {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new BoundedFileError(`${file} (${what}) does not exist.`, "missing");
    throw new BoundedFileError(`${file} (${what}) could not be read (${code ?? "error"}).`, "unreadable");
  }
  if (root !== undefined) {
    let realRoot: string;
    try {
      realRoot = fs.realpathSync(root);
    } catch {
      realRoot = path.resolve(root);
    }
    if (!isInside(realRoot, real))
      throw new BoundedFileError(`${file} (${what}) leads outside its folder ${root} (through a symlink), so it is not read.`, "outsideRoot");
  }
  return real;
}

/**
 * Checks without reading that `file` is a regular file inside `root` (when given) no larger than `maxBytes`; returns its
 * size. For files another library opens (an ONNX graph given to onnxruntime by path).
 */
export function checkRegularFile(file: string, options: Omit<BoundedReadOptions, "truncate">): number {
  const real = realPathInside(file, options.what, options.root);
  let fd: number;
  try {
    fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw new BoundedFileError(`${file} (${options.what}) could not be opened (${(e as NodeJS.ErrnoException).code ?? "error"}).`, "unreadable");
  }
  try {
    return checkedSize(fd, file, options);
  } finally {
    fs.closeSync(fd);
  }
}

function checkedSize(fd: number, file: string, options: BoundedReadOptions): number {
  const stat = fs.fstatSync(fd);
  if (!stat.isFile()) throw new BoundedFileError(`${file} (${options.what}) is ${describe(stat)}, not a regular file, so it is not read.`, "notRegular");
  if (stat.size > options.maxBytes && options.truncate !== true)
    throw new BoundedFileError(
      `${file} (${options.what}) is ${formatBytes(stat.size)}, more than the ${formatBytes(options.maxBytes)} allowed for it, so it is not read.`,
      "tooLarge",
    );
  return stat.size;
}

/** Reads `file` as described in the module comment. Throws BoundedFileError. */
export function readBoundedFile(file: string, options: BoundedReadOptions): BoundedRead {
  const real = realPathInside(file, options.what, options.root);
  let fd: number;
  try {
    fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new BoundedFileError(`${file} (${options.what}) does not exist.`, "missing");
    throw new BoundedFileError(`${file} (${options.what}) could not be opened (${code ?? "error"}).`, "unreadable");
  }
  try {
    const size = checkedSize(fd, file, options);
    return readFd(fd, Math.min(size, options.maxBytes), options.maxBytes, file, options.what);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads up to `cap` bytes from `fd` (expecting about `expected`), stopping at the cap. */
function readFd(fd: number, expected: number, cap: number, file: string, what: string): BoundedRead {
  let buffer = Buffer.allocUnsafe(Math.max(1, Math.min(expected + 1, cap + 1)));
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length > cap) break;
      const bigger = Buffer.allocUnsafe(Math.min(cap + 1, buffer.length * 2));
      buffer.copy(bigger, 0, 0, length);
      buffer = bigger;
    }
    let n: number;
    try {
      n = fs.readSync(fd, buffer, length, buffer.length - length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") {
        // A non-blocking pipe with nothing yet: wait a little rather than spin.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      throw new BoundedFileError(`${file} (${what}) could not be read (${code ?? "error"}).`, "unreadable");
    }
    if (n === 0) break;
    length += n;
  }
  const truncated = length > cap;
  return { bytes: buffer.subarray(0, Math.min(length, cap)), truncated };
}

/**
 * Standard input read up to `cap` bytes (then stopped: `truncated`). Refuses a terminal-less device like /dev/zero
 * piped in only by its cap; a character device given as stdin (`< /dev/zero`) is refused at once.
 */
export function readBoundedStdin(cap: number, what = "standard input"): BoundedRead {
  const stat = fs.fstatSync(0);
  if (stat.isCharacterDevice() && !process.stdin.isTTY)
    throw new BoundedFileError(`Standard input (${what}) is a character device, not a file or pipe, so it is not read.`, "notRegular");
  if (stat.isDirectory()) throw new BoundedFileError(`Standard input (${what}) is a folder, so it is not read.`, "notRegular");
  return readFd(0, stat.isFile() ? stat.size : 64 * 1024, cap, "standard input", what);
}

/** A JSON.parse error without the excerpt of the text that V8 quotes (a refusal never repeats a file's contents), in at most 120 characters. */
export function jsonErrorReason(e: unknown): string {
  const message = String((e as Error)?.message ?? e)
    .replace(/,\s*"[\s\S]*" is not valid JSON$/, " (not valid JSON)")
    .replace(/"[\s\S]*?\.\.\."/g, "")
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, " ");
  return message.length > 120 ? `${message.slice(0, 117)}...` : message;
}

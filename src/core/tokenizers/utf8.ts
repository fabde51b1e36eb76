/**
 * UTF-8 helpers that agree with `TextEncoder`/`TextDecoder` (the WHATWG Encoding Standard), which is what
 * @huggingface/tokenizers uses: a lone surrogate is encoded as U+FFFD (EF BF BD), and an invalid or
 * truncated byte sequence decodes to U+FFFD.
 */

const REPLACEMENT_CHARACTER = 0xfffd;

/** Number of UTF-8 bytes of a JavaScript string, lone surrogates counted as U+FFFD (3 bytes). */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    } else {
      bytes += 3; // BMP character, or a lone surrogate encoded as U+FFFD
    }
  }
  return bytes;
}

/** UTF-8 bytes of a string (lone surrogates become U+FFFD, as `TextEncoder` does). */
export function utf8Encode(text: string): Uint8Array {
  const out = new Uint8Array(utf8ByteLength(text));
  let at = 0;
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (cp <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        cp = REPLACEMENT_CHARACTER;
      }
    }
    if (cp < 0x80) {
      out[at++] = cp;
    } else if (cp < 0x800) {
      out[at++] = 0xc0 | (cp >> 6);
      out[at++] = 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      out[at++] = 0xe0 | (cp >> 12);
      out[at++] = 0x80 | ((cp >> 6) & 0x3f);
      out[at++] = 0x80 | (cp & 0x3f);
    } else {
      out[at++] = 0xf0 | (cp >> 18);
      out[at++] = 0x80 | ((cp >> 12) & 0x3f);
      out[at++] = 0x80 | ((cp >> 6) & 0x3f);
      out[at++] = 0x80 | (cp & 0x3f);
    }
  }
  return out;
}

/**
 * Streaming UTF-8 decoder that reports which chunk each decoded code point started in.
 * It follows the WHATWG decoder (maximal subparts of invalid sequences become one U+FFFD each),
 * so decoding the bytes of many tokens one after another gives the same characters as decoding them joined.
 */
export class Utf8ChunkDecoder {
  private needed = 0;
  private seen = 0;
  private codePoint = 0;
  private lower = 0x80;
  private upper = 0xbf;
  /** Chunk in which the pending (incomplete) character started. */
  private pendingChunk = -1;

  /**
   * Feeds one chunk's bytes; `emit(codePoint, chunk)` is called for each completed character with the index of
   * the chunk its first byte came from (a character split across chunks belongs to the first of them).
   */
  push(bytes: Uint8Array, chunk: number, emit: (codePoint: number, chunk: number, invalid: boolean) => void): void {
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i] as number;
      if (this.needed === 0) {
        if (byte < 0x80) {
          emit(byte, chunk, false);
        } else if (byte >= 0xc2 && byte <= 0xdf) {
          this.start(1, byte & 0x1f, chunk);
        } else if (byte >= 0xe0 && byte <= 0xef) {
          if (byte === 0xe0) this.lower = 0xa0;
          if (byte === 0xed) this.upper = 0x9f;
          this.start(2, byte & 0x0f, chunk);
        } else if (byte >= 0xf0 && byte <= 0xf4) {
          if (byte === 0xf0) this.lower = 0x90;
          if (byte === 0xf4) this.upper = 0x8f;
          this.start(3, byte & 0x07, chunk);
        } else {
          emit(REPLACEMENT_CHARACTER, chunk, true);
        }
        continue;
      }
      if (byte < this.lower || byte > this.upper) {
        // The pending sequence is invalid: one U+FFFD for it, then this byte starts afresh.
        emit(REPLACEMENT_CHARACTER, this.pendingChunk, true);
        this.reset();
        i--;
        continue;
      }
      this.lower = 0x80;
      this.upper = 0xbf;
      this.codePoint = (this.codePoint << 6) | (byte & 0x3f);
      this.seen++;
      if (this.seen === this.needed) {
        const owner = this.pendingChunk;
        const codePoint = this.codePoint;
        this.reset();
        emit(codePoint, owner, false);
      }
    }
  }

  /** Ends the stream: an incomplete trailing sequence becomes U+FFFD. */
  finish(emit: (codePoint: number, chunk: number, invalid: boolean) => void): void {
    if (this.needed !== 0) {
      emit(REPLACEMENT_CHARACTER, this.pendingChunk, true);
      this.reset();
    }
  }

  /** Whether a character is pending (its first bytes seen, not yet complete). */
  get pending(): boolean {
    return this.needed !== 0;
  }

  private start(needed: number, initial: number, chunk: number): void {
    this.needed = needed;
    this.seen = 0;
    this.codePoint = initial;
    this.pendingChunk = chunk;
  }

  private reset(): void {
    this.needed = 0;
    this.seen = 0;
    this.codePoint = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
    this.pendingChunk = -1;
  }
}

/**
 * Decodes bytes keeping only complete, valid characters: bytes that do not form a character on their own
 * (a fragment of a multi-byte character) are dropped instead of becoming U+FFFD.
 */
export function decodeCompleteCharacters(bytes: Uint8Array): string {
  const decoder = new Utf8ChunkDecoder();
  let text = "";
  const keepValid = (codePoint: number, _chunk: number, invalid: boolean): void => {
    if (!invalid) text += String.fromCodePoint(codePoint);
  };
  decoder.push(bytes, 0, keepValid);
  decoder.finish(keepValid);
  return text;
}

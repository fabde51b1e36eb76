/**
 * GPT-2's byte-to-unicode table (openai/gpt-2 `encoder.py` `bytes_to_unicode`, used by every byte-level BPE):
 * printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100 onwards, so each character of a
 * byte-level token string stands for exactly one byte of the UTF-8 text.
 */

function buildByteToCharacter(): string[] {
  const direct: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) direct.push(b); // '!'..'~'
  for (let b = 0xa1; b <= 0xac; b++) direct.push(b); // '¡'..'¬'
  for (let b = 0xae; b <= 0xff; b++) direct.push(b); // '®'..'ÿ'
  const table = new Array<string>(256);
  for (const b of direct) table[b] = String.fromCharCode(b);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = String.fromCharCode(256 + next++);
  }
  return table;
}

/** Byte (0–255) → the character that stands for it in byte-level token strings. */
export const BYTE_TO_CHARACTER: readonly string[] = buildByteToCharacter();

/** Character code (UTF-16 unit) of a byte-level token string → the byte it stands for, or -1. */
const CHARACTER_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(0x200).fill(-1);
  BYTE_TO_CHARACTER.forEach((character, byte) => {
    table[character.charCodeAt(0)] = byte;
  });
  return table;
})();

/**
 * The bytes a byte-level token string stands for. A character outside the table (never produced by the
 * byte-level pre-tokenizer, but possible in a hand-edited vocabulary) contributes its own UTF-8 bytes.
 */
export function byteLevelTokenBytes(token: string, utf8Encode: (text: string) => Uint8Array): Uint8Array {
  const out: number[] = [];
  for (const character of token) {
    const code = character.charCodeAt(0);
    const byte = character.length === 1 && code < 0x200 ? (CHARACTER_TO_BYTE[code] as number) : -1;
    if (byte >= 0) out.push(byte);
    else for (const b of utf8Encode(character)) out.push(b);
  }
  return Uint8Array.from(out);
}

/**
 * Token texts with their whitespace and control characters made visible, so a token like "\n  " is readable:
 * one table for the hover, the panel and the command line.
 */

/** Shows whitespace and control characters so a token like "\n  " is readable: · for space, → tab, ↵ newline. */
export function visibleWhitespace(text: string): string {
  let out = "";
  for (const ch of text) {
    switch (ch) {
      case " ":
        out += "·";
        break;
      case "\t":
        out += "→";
        break;
      case "\n":
        out += "↵";
        break;
      case "\r":
        out += "␍";
        break;
      case "\u00a0":
        out += "⍽";
        break;
      default: {
        const code = ch.codePointAt(0) ?? 0;
        out += code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0) ? `\\u{${code.toString(16)}}` : ch;
      }
    }
  }
  return out;
}

/**
 * A CSV reader for RFC 4180 files (the CrowS-Pairs data): fields separated by commas, records by CRLF or LF; a field
 * in double quotes may hold commas, line breaks and doubled quotes ("" for one "). A leading byte-order mark is
 * skipped, and so are blank lines. A quote inside an unquoted field, text after a closing
 * quote, or a quote left open are errors (RFC 4180 §2 rules 5–7), reported with the line they are on.
 */
import { SuiteDataError } from "./suiteData";

/** One record: its fields and the 1-based line it starts on. */
export interface CsvRecord {
  fields: string[];
  line: number;
}

/** The records of CSV text; `fileName` names the file in errors. */
export function parseCsv(text: string, fileName: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let fields: string[] = [];
  let recordLine = 1;
  const n = text.length;
  const endRecord = (): void => {
    records.push({ fields, line: recordLine });
    fields = [];
  };
  while (i <= n) {
    if (i === n) {
      // End of text: a record in progress ends here; a text that ended with a line break has none.
      if (fields.length > 0) endRecord();
      break;
    }
    if (fields.length === 0) recordLine = line;
    let value = "";
    if (text[i] === '"') {
      const openedOn = line;
      i++;
      for (;;) {
        if (i >= n) throw new SuiteDataError(`${fileName}: the quoted field opened on line ${openedOn} is never closed.`);
        const c = text[i] as string;
        if (c === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (c === "\n") line++;
        value += c;
        i++;
      }
      const next = text[i];
      if (next !== undefined && next !== "," && next !== "\n" && next !== "\r") {
        throw new SuiteDataError(`${fileName}: line ${line} has text after the closing quote of a field.`);
      }
    } else {
      const start = i;
      while (i < n && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") {
        if (text[i] === '"') throw new SuiteDataError(`${fileName}: line ${line} has a quote inside an unquoted field.`);
        i++;
      }
      value = text.slice(start, i);
    }
    fields.push(value);
    if (i >= n) {
      endRecord();
      break;
    }
    const sep = text[i];
    if (sep === ",") {
      i++;
      if (i === n) {
        fields.push("");
        endRecord();
        break;
      }
      continue;
    }
    // A line break (CRLF, LF or a lone CR) ends the record.
    i += sep === "\r" && text[i + 1] === "\n" ? 2 : 1;
    line++;
    endRecord();
  }
  // A blank line gives a record of one empty field; like Python's csv.DictReader, it is not data.
  return records.filter((record) => !(record.fields.length === 1 && record.fields[0] === ""));
}

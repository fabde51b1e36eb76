/**
 * Keeping highlight ranges on the right text while a rescore is pending. Pure: no `vscode`, unit-tested.
 *
 * An edit replaces `deletedLength` UTF-16 code units at `offset` with `insertedLength` new ones. A range
 * wholly before the edit stays, a range wholly after it shifts by the change in length, and a range the
 * edit touches (overlaps the deleted text, or has the insertion point strictly inside) is dropped: its
 * text is no longer the text that was scored, so any colour on it would be a lie.
 */

export interface TextEdit {
  /** UTF-16 offset of the start of the replaced text, in the document before this edit. */
  offset: number;
  deletedLength: number;
  insertedLength: number;
}

export interface OffsetRange {
  start: number;
  end: number;
}

/**
 * Where `range` lies after `edit`, or null when the edit touched it.
 * An empty range belongs to the character before it: it stays at or before the edit's start and is dropped
 * when that character was deleted.
 */
export function mapRangeThroughEdit<R extends OffsetRange>(range: R, edit: TextEdit): R | null {
  const editEnd = edit.offset + edit.deletedLength;
  const delta = edit.insertedLength - edit.deletedLength;
  const shifted = (): R => (delta === 0 ? range : { ...range, start: range.start + delta, end: range.end + delta });
  if (range.start === range.end) {
    // An empty range (a token that only continues the previous character) belongs to the character before it.
    if (range.start <= edit.offset) return range;
    if (range.start > editEnd) return shifted();
    return null;
  }
  if (range.end <= edit.offset) return range;
  if (range.start >= editEnd) return shifted();
  return null;
}

/**
 * Applies edits in order (each edit's offset refers to the text after the previous edits, which is how
 * VS Code's `contentChanges` are meant to be applied) to ranges sorted by start. Returns the surviving
 * ranges, still sorted; the input array is not modified.
 */
export function mapRangesThroughEdits<R extends OffsetRange>(ranges: readonly R[], edits: readonly TextEdit[]): R[] {
  let current: R[] = ranges.slice();
  for (const edit of edits) {
    const next: R[] = [];
    for (const range of current) {
      const mapped = mapRangeThroughEdit(range, edit);
      if (mapped !== null) next.push(mapped);
    }
    current = next;
  }
  return current;
}

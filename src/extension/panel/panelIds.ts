/**
 * The opaque ids the panel's messages name things by. The webview is told an id with each thing it shows (a scored
 * document, an adapter row) and sends the id back; the host looks it up among the things it showed, so a message can
 * only name something the host already knows — never a path or a URI of the webview's choosing.
 */
import { createHash } from "node:crypto";

/** A short stable id for `key` (a document URI, an adapter folder path) in the namespace `kind`. */
export function panelId(kind: "doc" | "adapter", key: string): string {
  return `${kind}-${createHash("sha256").update(`${kind}\u0000${key}`).digest("hex").slice(0, 16)}`;
}

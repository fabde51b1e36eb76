/**
 * The units and glyphs in which the protocol's numbers and token texts are shown, re-exported from src/core so that
 * the webview (which imports only src/protocol) draws them with the same definitions as the editor and the command
 * line.
 */
export {
  BITS_PER_LEVEL,
  GLTR_BUCKETS,
  GLTR_BUCKET_LABELS,
  SURPRISAL_LEVELS,
  gltrBucket,
  natsToBits,
  surprisalBits,
  surprisalBitsOrNull,
  surprisalLevel,
} from "../core/surprisal";
export { visibleWhitespace } from "../core/visibleText";

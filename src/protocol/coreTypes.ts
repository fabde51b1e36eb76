/**
 * The types of src/core's plain data that cross the protocol, re-exported so that the webview (which may import only
 * src/protocol) and the extension name them through the protocol.
 */
export type * from "../core/types";
export type * from "../core/comparisonData";
export type * from "../core/lora/adapterTypes";
export type {
  DocumentStats,
  KvBytesBreakdown,
  RescoreAggregates,
  RescoreRecord,
  SurprisingToken,
  RankBucketBar,
  RankBucketName,
  HistogramBin,
  SurprisalHistogram,
} from "../core/documentStats";
export type { EngineErrorCode } from "../core/engineError";

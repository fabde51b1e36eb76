/**
 * The inline perplexity of each paragraph, line or block. Pure: no `vscode`, unit-tested.
 * Metrics come from the engine's `computeMetrics` over the span, so they agree with the status bar and
 * the panel by construction.
 */
import type { TokenScore } from "../core/types";
import { computeMetrics } from "../core/metrics";
import type { AnnotationGranularity } from "./config";
import type { PlacedAnnotation } from "./documentScoreState";
import { annotationSpans, tokensPerSpan } from "./annotationSpans";
import { formatPerplexity } from "./statusText";

/**
 * Annotations for `scoredText` (whose first character is at document offset `baseOffset`); spans with
 * fewer than `minTokens` scored tokens get none. Ranges are document offsets.
 */
export function computeAnnotations(
  scoredText: string,
  tokens: readonly TokenScore[],
  baseOffset: number,
  granularity: AnnotationGranularity,
  minTokens: number,
): PlacedAnnotation[] {
  const spans = annotationSpans(scoredText, granularity);
  const groups = tokensPerSpan(tokens, spans);
  const annotations: PlacedAnnotation[] = [];
  spans.forEach((span, i) => {
    const group = groups[i];
    if (!group || group.to - group.from < minTokens) return;
    const metrics = computeMetrics(scoredText, tokens.slice(group.from, group.to), span);
    if (metrics.scoredTokens < minTokens || metrics.tokenPerplexity === null) return;
    annotations.push({
      start: span.start + baseOffset,
      end: span.end + baseOffset,
      label: `ppl ${formatPerplexity(metrics.tokenPerplexity)}`,
    });
  });
  return annotations;
}

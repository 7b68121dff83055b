/** One scrape of GET /metrics, reduced to what the charts show. */
export interface Scrape {
  at: number;
  /** setgetapi_ingest_messages_total summed per outcome. */
  messages: Map<string, number>;
  lagSum: number;
  lagCount: number;
  /** setgetapi_query_duration_seconds buckets summed over every label, by upper bound. */
  queryBuckets: Map<number, number>;
  deadLetters: number;
}

const SAMPLE = /^(\w+)(?:\{(.*)\})? (\S+)/;

export function parseMetrics(text: string, at: number): Scrape {
  const scrape: Scrape = { at, messages: new Map(), lagSum: 0, lagCount: 0, queryBuckets: new Map(), deadLetters: 0 };
  for (const line of text.split('\n')) {
    const match = SAMPLE.exec(line);
    if (!match) continue;
    const [, name, labelText = '', valueText] = match;
    const value = Number(valueText);
    const label = (key: string) => new RegExp(`(?:^|,)${key}="([^"]*)"`).exec(labelText)?.[1];
    switch (name) {
      case 'setgetapi_ingest_messages_total': {
        const outcome = label('outcome') ?? '?';
        scrape.messages.set(outcome, (scrape.messages.get(outcome) ?? 0) + value);
        break;
      }
      case 'setgetapi_ingest_lag_seconds_sum':
        scrape.lagSum += value;
        break;
      case 'setgetapi_ingest_lag_seconds_count':
        scrape.lagCount += value;
        break;
      case 'setgetapi_query_duration_seconds_bucket': {
        const bound = Number(label('le') === '+Inf' ? Infinity : label('le'));
        scrape.queryBuckets.set(bound, (scrape.queryBuckets.get(bound) ?? 0) + value);
        break;
      }
      case 'setgetapi_dead_letters':
        scrape.deadLetters += value;
        break;
    }
  }
  return scrape;
}

/** Messages per second per outcome between two scrapes. */
export function messageRates(before: Scrape, after: Scrape): Map<string, number> {
  const seconds = Math.max(0.001, (after.at - before.at) / 1000);
  const rates = new Map<string, number>();
  for (const [outcome, count] of after.messages) {
    rates.set(outcome, Math.max(0, count - (before.messages.get(outcome) ?? 0)) / seconds);
  }
  return rates;
}

/** Mean queue-to-store lag of the messages applied between two scrapes (seconds); null when none was. */
export function meanLag(before: Scrape, after: Scrape): number | null {
  const count = after.lagCount - before.lagCount;
  return count > 0 ? (after.lagSum - before.lagSum) / count : null;
}

/** The 99th percentile of the reads between two scrapes, from the histogram's buckets (upper bound, seconds). */
export function queryP99(before: Scrape, after: Scrape): number | null {
  const bounds = [...after.queryBuckets.keys()].sort((a, b) => a - b);
  const total = after.queryBuckets.get(Infinity)! - (before.queryBuckets.get(Infinity) ?? 0);
  if (!(total > 0)) return null;
  for (const bound of bounds) {
    const below = after.queryBuckets.get(bound)! - (before.queryBuckets.get(bound) ?? 0);
    if (below >= total * 0.99) return Number.isFinite(bound) ? bound : (bounds[bounds.length - 2] ?? null);
  }
  return null;
}

import { describe, expect, it } from '@jest/globals';
import { meanLag, messageRates, parseMetrics, queryP99 } from './metrics';

const scrape = (stored: number, lag: [number, number], buckets: [string, number][], at: number) =>
  parseMetrics(
    [
      '# HELP setgetapi_ingest_messages_total Messages',
      `setgetapi_ingest_messages_total{outcome="stored",reason=""} ${stored}`,
      'setgetapi_ingest_messages_total{outcome="rejected",reason="INVALID_JSON"} 1',
      'setgetapi_ingest_messages_total{outcome="rejected",reason="MESSAGE_TOO_LARGE"} 2',
      `setgetapi_ingest_lag_seconds_sum ${lag[0]}`,
      `setgetapi_ingest_lag_seconds_count ${lag[1]}`,
      ...buckets.map(
        ([le, count]) => `setgetapi_query_duration_seconds_bucket{le="${le}",route="/v1/data",status="200"} ${count}`,
      ),
      'setgetapi_dead_letters{errorCode="INVALID_JSON"} 3',
      'setgetapi_dead_letters{errorCode="RETRIES_EXHAUSTED"} 4',
    ].join('\n'),
    at,
  );

describe('the live charts from /metrics', () => {
  const before = scrape(
    100,
    [10, 100],
    [
      ['0.001', 50],
      ['0.01', 90],
      ['+Inf', 100],
    ],
    0,
  );
  const after = scrape(
    130,
    [16, 110],
    [
      ['0.001', 50],
      ['0.01', 190],
      ['+Inf', 200],
    ],
    3000,
  );

  it('sums each outcome over its reasons and the dead-letter gauge over its codes', () => {
    expect(after.messages).toEqual(
      new Map([
        ['stored', 130],
        ['rejected', 3],
      ]),
    );
    expect(after.deadLetters).toBe(7);
  });

  it('turns counters into per-second rates, and the lag histogram into the mean of the interval', () => {
    expect(messageRates(before, after)).toEqual(
      new Map([
        ['stored', 10],
        ['rejected', 0],
      ]),
    );
    expect(meanLag(before, after)).toBeCloseTo(0.6);
    expect(meanLag(after, after)).toBeNull();
  });

  it("gives the bucket bound under which 99 % of the interval's reads fell", () => {
    expect(queryP99(before, after)).toBe(0.01);
    expect(queryP99(after, after)).toBeNull();
  });
});

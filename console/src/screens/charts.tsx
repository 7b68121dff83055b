import { useEffect, useRef, useState } from 'preact/hooks';
import { call } from '../api';
import { meanLag, messageRates, parseMetrics, queryP99, type Scrape } from '../metrics';

/** How often the charts refresh, and how much history they keep (5 minutes). */
const REFRESH_MS = 3000;
const POINTS = 100;

interface Point {
  at: number;
  rates: Map<string, number>;
  lag: number | null;
  p99: number | null;
  deadLetters: number;
  redisUp: number | null;
}

const OUTCOME_COLOURS: Record<string, string> = {
  stored: '#1b7f3b',
  deleted: '#2255aa',
  stale: '#8a6d00',
  rejected: '#b3261e',
  retried: '#6b3fa0',
};

export function ChartsScreen() {
  const [points, setPoints] = useState<Point[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const last = useRef<Scrape | null>(null);

  useEffect(() => {
    let stopped = false;
    const scrape = async () => {
      const [metrics, ready] = await Promise.all([
        call<unknown>('GET', '/metrics', { anonymous: true }),
        call<{ checks?: Record<string, { status: string }> }>('GET', '/health/ready', { anonymous: true }),
      ]);
      if (stopped) return;
      if (!metrics.ok) return setProblem(`GET /metrics answered ${metrics.status}`);
      setProblem(null);
      const now = parseMetrics(metrics.text, Date.now());
      const before = last.current;
      last.current = now;
      const redis = ready.body?.checks?.redis?.status;
      const point: Point = {
        at: now.at,
        rates: before ? messageRates(before, now) : new Map<string, number>(),
        lag: before ? meanLag(before, now) : null,
        p99: before ? queryP99(before, now) : null,
        deadLetters: now.deadLetters,
        redisUp: redis === undefined ? null : redis === 'up' ? 1 : 0,
      };
      setPoints((previous) => [...previous, point].slice(-POINTS));
    };
    void scrape();
    const timer = setInterval(() => void scrape(), REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);

  const outcomes = [...new Set(points.flatMap((point) => [...point.rates.keys()]))].sort();
  const latest = points[points.length - 1];
  return (
    <section aria-labelledby="charts-title">
      <h2 id="charts-title">Live metrics</h2>
      <p class="note">
        From this process's GET /metrics every {REFRESH_MS / 1000} s (in a split deployment, the admin process's own
        counters: use Prometheus for the fleet).
      </p>
      {problem !== null && <p class="error">{problem}</p>}
      <Chart
        title="Messages per second by outcome"
        series={outcomes.map((outcome) => ({
          name: outcome,
          colour: OUTCOME_COLOURS[outcome] ?? '#444',
          values: points.map((point) => point.rates.get(outcome) ?? 0),
        }))}
        format={(value) => `${value.toFixed(1)}/s`}
      />
      <Chart
        title="Ingest lag (mean, queue to store)"
        series={[{ name: 'lag', colour: '#2255aa', values: points.map((point) => point.lag) }]}
        format={(value) => `${(value * 1000).toFixed(0)} ms`}
      />
      <Chart
        title="Query p99"
        series={[{ name: 'p99', colour: '#6b3fa0', values: points.map((point) => point.p99) }]}
        // The histogram's bucket bound the 99th percentile falls under: an upper bound, not an estimate.
        format={(value) => `≤ ${(value * 1000).toFixed(1)} ms`}
      />
      <Chart
        title="Dead-letter depth"
        series={[{ name: 'dead letters', colour: '#b3261e', values: points.map((point) => point.deadLetters) }]}
        format={(value) => value.toFixed(0)}
      />
      <Chart
        title="Redis readiness"
        series={[{ name: 'redis', colour: '#1b7f3b', values: points.map((point) => point.redisUp) }]}
        format={(value) => (value === 1 ? 'up' : 'down')}
      />
      {latest && <p data-testid="charts-samples">{points.length} samples</p>}
    </section>
  );
}

interface Series {
  name: string;
  colour: string;
  values: Array<number | null>;
}

const WIDTH = 600;
const HEIGHT = 120;

function Chart({ title, series, format }: { title: string; series: Series[]; format: (value: number) => string }) {
  const all = series.flatMap((line) => line.values.filter((value): value is number => value !== null));
  const top = Math.max(1e-9, ...all);
  const x = (index: number) => (index / (POINTS - 1)) * WIDTH;
  const y = (value: number) => HEIGHT - (value / top) * (HEIGHT - 10);
  return (
    <figure class="chart">
      <figcaption>
        {title}:{' '}
        {series.map((line) => {
          const current = [...line.values].reverse().find((value) => value !== null);
          return (
            <span key={line.name} class="legend" data-colour={line.colour}>
              {line.name} {current === undefined || current === null ? '—' : format(current)}{' '}
            </span>
          );
        })}
        {all.length > 0 && <span class="scale">(top of the chart: {format(top)})</span>}
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" role="img" aria-label={title}>
        <line x1="0" y1={HEIGHT} x2={WIDTH} y2={HEIGHT} stroke="#999" />
        {series.map((line) => (
          <polyline
            key={line.name}
            fill="none"
            stroke={line.colour}
            stroke-width="2"
            vector-effect="non-scaling-stroke"
            points={line.values
              .map((value, index) => (value === null ? null : `${x(index).toFixed(1)},${y(value).toFixed(1)}`))
              .filter((point) => point !== null)
              .join(' ')}
          />
        ))}
      </svg>
    </figure>
  );
}

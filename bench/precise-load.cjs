/**
 * Load for bench/waiting.ts's plain reads: autocannon in this process (run as a child of its own), 32 connections on
 * one URL, printing one JSON line with requests per second, statuses and latency percentiles to 0.01 ms.
 *
 * Why not autocannon's own percentiles: its histogram keeps whole milliseconds (lowestDiscernibleValue 1), so a p99
 * of 5.9 ms reads 5 and one of 6.0 reads 6; on a p99 of 3–5 ms, the 1.2× goal is then decided by rounding. Every
 * response time autocannon measures is kept here instead (a Float64Array; 20 s at 25,000 req/s is 4 MB).
 *
 * Usage: node bench/precise-load.cjs <url> <seconds> <headers as JSON>
 */
'use strict';
const autocannon = require('autocannon');

const [url, seconds, headersJson] = process.argv.slice(2);
let times = new Float64Array(1 << 16);
let count = 0;
const instance = autocannon(
  { url, connections: 32, duration: Number(seconds), headers: JSON.parse(headersJson ?? '{}') },
  (error, result) => {
    if (error) throw error;
    const sorted = times.subarray(0, count).sort();
    const at = (fraction) => sorted[Math.min(count - 1, Math.floor(count * fraction))];
    const statuses = {};
    for (const [status, { count: answers }] of Object.entries(result.statusCodeStats ?? {})) statuses[status] = answers;
    process.stdout.write(
      JSON.stringify({
        rps: Math.round(result.requests.average),
        samples: count,
        p50: Number(at(0.5).toFixed(2)),
        p99: Number(at(0.99).toFixed(2)),
        p999: Number(at(0.999).toFixed(2)),
        statuses,
      }) + '\n',
    );
  },
);
instance.on('response', (_client, _status, _bytes, responseTime) => {
  if (count === times.length) {
    const grown = new Float64Array(times.length * 2);
    grown.set(times);
    times = grown;
  }
  times[count++] = responseTime;
});

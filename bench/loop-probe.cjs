/**
 * A diagnosis preload for a benchmarked service process (`node --require bench/loop-probe.cjs dist/main.js`), used by
 * bench/waiting.ts when BENCH_PROBE_DIR is set; never loaded by the service itself.
 *
 * - every second, one line to `$LOOP_PROBE_DIR/loop.tsv`: the wall-clock second, the event-loop delay's p50 / p99 /
 *   max over that second (perf_hooks.monitorEventLoopDelay, 1 ms resolution), and the garbage collections that ended
 *   in it (count and total pause in ms, by kind: scavenge, mark-compact, incremental marking, weak callbacks);
 * - SIGUSR2 starts a CPU profile, the next SIGUSR2 writes it to `$LOOP_PROBE_DIR/window-<n>.cpuprofile` (n = 1, 2,
 *   ...): the bench sends one at each end of the windows it measures (plain reads alone, then beside the waiters).
 */
'use strict';
const { monitorEventLoopDelay, PerformanceObserver, constants } = require('node:perf_hooks');
const { appendFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const inspector = require('node:inspector');

const dir = process.env.LOOP_PROBE_DIR;
if (dir) {
  const loopFile = join(dir, 'loop.tsv');
  writeFileSync(
    loopFile,
    'unix_s\tdelay_p50_ms\tdelay_p99_ms\tdelay_max_ms\tscavenges\tscavenge_ms\tmark_compacts\tmark_compact_ms\tincremental\tincremental_ms\tweak\tweak_ms\n',
  );
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const kinds = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 0,
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 1,
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 2,
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 3,
  };
  let gc = [0, 0, 0, 0, 0, 0, 0, 0];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = kinds[entry.detail?.kind ?? entry.kind];
      if (kind === undefined) continue;
      gc[kind * 2] += 1;
      gc[kind * 2 + 1] += entry.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  const ms = (nanoseconds) => (nanoseconds / 1e6).toFixed(2);
  setInterval(() => {
    const line = [
      Math.floor(Date.now() / 1000),
      ms(delay.percentile(50)),
      ms(delay.percentile(99)),
      ms(delay.max),
      ...gc.map((value, index) => (index % 2 === 0 ? String(value) : value.toFixed(2))),
    ];
    appendFileSync(loopFile, line.join('\t') + '\n');
    delay.reset();
    gc = [0, 0, 0, 0, 0, 0, 0, 0];
  }, 1000).unref();

  let session = null;
  let windows = 0;
  process.on('SIGUSR2', () => {
    if (session === null) {
      session = new inspector.Session();
      session.connect();
      session.post('Profiler.enable', () => session.post('Profiler.start'));
      return;
    }
    const profiling = session;
    const file = join(dir, `window-${++windows}.cpuprofile`);
    session = null;
    profiling.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(file, JSON.stringify(result.profile));
      profiling.disconnect();
    });
  });
}

import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process has written so far. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs the built service (dist/main.js, as `npm start` would) in a child process, for what only a real process
 * shows: signals, exit codes, a kill -9. `npm test` builds before running the suites. `main` is another build's
 * entry point (bench:ingest's BENCH_BASELINE_MAIN: an older commit built in a worktree of its own).
 */
export async function spawnService(
  env: Record<string, string>,
  nodeArgs: string[] = [],
  main = MAIN,
): Promise<ServiceProcess> {
  if (!existsSync(main)) throw new Error(`${main} is missing: run "npm run build" first (npm test does)`);
  const child = spawn(process.execPath, [...nodeArgs, main], {
    env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Nobody gets a handle on a process that failed to start: end it here, or it outlives the suite.
      child.kill('SIGKILL');
      reject(new Error(`service did not start within 20 s:\n${output}`));
    }, 20_000);
    const check = () => {
      const match = /listening on port (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', check);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code} before listening:\n${output}`));
    });
  });
  return { child, url: `http://127.0.0.1:${port}`, output: () => output, exited };
}

/** Kills a service if it still runs (SIGKILL: afterAll cleanup, not a drill) and waits until it has ended. */
export async function stopService(service: ServiceProcess): Promise<void> {
  if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
  await service.exited;
}

/**
 * The sum of a Prometheus counter's samples on a service's GET /metrics whose labels include `labels`, e.g.
 * every `reason` of `setgetapi_ingest_messages_total{outcome="stored"}`; 0 when no sample matches yet.
 */
export async function readCounter(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${url}/metrics`);
  if (!response.ok) throw new Error(`GET ${url}/metrics answered ${response.status}`);
  let sum = 0;
  for (const line of (await response.text()).split('\n')) {
    const sample = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample || sample[1] !== name) continue;
    const sampleLabels = new Map(
      [...(sample[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key, value]),
    );
    if (Object.entries(labels).every(([key, value]) => sampleLabels.get(key) === value)) sum += Number(sample[3]);
  }
  return sum;
}

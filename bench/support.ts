import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import Redis from 'ioredis';
import { cpus, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config/app-config';
import { JournalStore } from '../src/store/journal-store';
import { KeyLayout, WebhookKeyDigester } from '../src/store/key-layout';
import { RecordReader } from '../src/store/record-reader';
import { RecordStore } from '../src/store/record-store';

/** Machine facts printed at the top of every benchmark, so figures are never read without their context. */
export function machineFacts(): string {
  const redisVersion =
    execFileSync('redis-server', ['--version'])
      .toString()
      .match(/v=(\S+)/)?.[1] ?? '?';
  return [
    `node ${process.version}`,
    `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}`,
    `${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM`,
    `redis-server ${redisVersion}`,
  ].join(', ');
}

export function formatBytes(bytes: number): string {
  if (Math.abs(bytes) < 10 * 1024) return `${bytes.toFixed(0)} B`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

export function table(rows: ReadonlyArray<Readonly<Record<string, string | number>>>): string {
  const columns = Object.keys(rows[0] ?? {});
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => String(row[column]).length)));
  const line = (cells: string[]) => cells.map((cell, index) => cell.padStart(widths[index])).join('  ');
  return [
    line(columns),
    line(widths.map((width) => '-'.repeat(width))),
    ...rows.map((row) => line(columns.map((column) => String(row[column])))),
  ].join('\n');
}

/** A RecordStore on a bench's own Redis client, configured as a query-only process would be (no journal). */
export function benchRecordStore(redis: Redis, webhookKeySecret: string): RecordStore {
  const config = loadConfig({ APP_ROLES: 'query', WEBHOOK_KEY_SECRET: webhookKeySecret });
  const keys = new KeyLayout(config.redis.keyPrefix);
  return new RecordStore(
    redis,
    keys,
    new WebhookKeyDigester(webhookKeySecret),
    new JournalStore(redis, keys, config),
    config,
  );
}

/** The uncached read path (no invalidation channel is started, so the cache is never used). */
export function benchRecordReader(redis: Redis, webhookKeySecret: string): RecordReader {
  const config = loadConfig({ APP_ROLES: 'query', WEBHOOK_KEY_SECRET: webhookKeySecret });
  return new RecordReader(
    redis,
    new KeyLayout(config.redis.keyPrefix),
    new WebhookKeyDigester(webhookKeySecret),
    config,
  );
}

/** utime + stime of a process, in ms (clock ticks of 10 ms). */
export function cpuMillis(pid: number): number {
  return cpuTimes(pid).total;
}

/** CPU time of a process in ms (clock ticks of 10 ms): utime + stime, and stime (the kernel's part) alone. */
export function cpuTimes(pid: number): { total: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { total: (Number(fields[11]) + Number(fields[12])) * 10, system: Number(fields[12]) * 10 };
}

/**
 * Runs a helper process that prints `listening on port N` once it serves (a baseline server, fauxqs, the MongoDB
 * wire server) and resolves with its URL; rejects with its output when it exits first.
 */
export function spawnListening(
  command: string,
  args: string[],
): Promise<{ child: ChildProcess; url: string; port: number }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      const port = /listening on port (\d+)/.exec(output)?.[1];
      if (port) resolve({ child, url: `http://127.0.0.1:${port}`, port: Number(port) });
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}:\n${output}`)));
  });
}

/** Node options that write a CPU profile of a child process to `dir` when it exits; none without a directory. */
export function cpuProfileArgs(dir: string | undefined, name: string): string[] {
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${name}.cpuprofile`] : [];
}

/**
 * Load from an autocannon process of its own (32 connections on `url` with `headers`), so that the bench process's
 * own work does not slow the load generator: requests per second and latency percentiles in ms.
 */
export async function autocannonProcess(
  url: string,
  headers: Record<string, string>,
  seconds: number,
): Promise<{ rps: number; p50: number; p99: number; statuses: Record<string, number> }> {
  const headerArgs = Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}=${value}`]);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [require.resolve('autocannon/autocannon.js'), '-c', '32', '-d', String(seconds), '-j', ...headerArgs, url],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const result = JSON.parse(stdout) as {
    latency: { p50: number; p99: number };
    requests: { average: number };
    statusCodeStats?: Record<string, { count: number }>;
  };
  const statuses = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([status, { count }]) => [status, count]),
  );
  return { rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, statuses };
}

import { execFileSync } from 'node:child_process';
import Redis from 'ioredis';
import { cpus, totalmem } from 'node:os';
import { loadConfig } from '../src/config/app-config';
import { JournalStore } from '../src/store/journal-store';
import { KeyLayout, WebhookKeyDigester } from '../src/store/key-layout';
import { RecordStore } from '../src/store/record-store';

/** Machine facts printed at the top of every benchmark, so figures are never read without their context. */
export function machineFacts(): string {
  const redisVersion = execFileSync('redis-server', ['--version']).toString().match(/v=(\S+)/)?.[1] ?? '?';
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
  return [line(columns), line(widths.map((width) => '-'.repeat(width))), ...rows.map((row) => line(columns.map((column) => String(row[column]))))].join('\n');
}

/** A RecordStore on a bench's own Redis client, configured as a query-only process would be (no journal). */
export function benchRecordStore(redis: Redis, webhookKeySecret: string): RecordStore {
  const config = loadConfig({ APP_ROLES: 'query', WEBHOOK_KEY_SECRET: webhookKeySecret });
  const keys = new KeyLayout(config.redis.keyPrefix);
  return new RecordStore(redis, keys, new WebhookKeyDigester(webhookKeySecret), new JournalStore(redis, keys, config));
}

import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';

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

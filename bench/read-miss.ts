/**
 * The read-miss limit under a flood: plain reads of a stored key from one client address, alone and then beside a
 * flood of reads of an unknown key from another address (both through X-Forwarded-For, TRUST_PROXY=true), on the
 * service process (APP_ROLES=query, READ_MISS_LIMIT_PER_MINUTE at its default, 600). The flood is answered 404
 * until its address passes the limit, then 429 without touching Redis. The goal: the other address's p99 unchanged.
 * The flood takes server CPU like any load, so the fair comparison is with the same load of hits from a third
 * address: what the limit adds is the difference between those two runs.
 *
 * Run: npm run bench:read-miss      (BENCH_SECONDS=10)
 */
import 'reflect-metadata';
import Redis from 'ioredis';
import { RedisServer } from '../test/support/redis-server';
import { spawnService } from '../test/support/service-process';
import { autocannonProcess, benchRecordStore, machineFacts, table } from './support';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SECRET = 'bench-webhook-secret-0123456789';

async function main(): Promise<void> {
  const redisServer = await RedisServer.start();
  const redis = new Redis(redisServer.url, { enableAutoPipelining: true });
  await benchRecordStore(redis, SECRET).write(
    { op: 'set', accountId: 'bench', flowId: 'miss', webhookKeys: ['bench-stored-key'], dataJson: '{"n":1}' },
    { datumId: 'd1', ttlSeconds: 3600, now: Date.now() },
  );
  const service = await spawnService({
    APP_ROLES: 'query',
    PORT: '0',
    REDIS_URL: redisServer.url,
    WEBHOOK_KEY_SECRET: SECRET,
    LOG_LEVEL: 'info',
    TRUST_PROXY: 'true',
  });
  const url = `${service.url}/v1/data`;
  const reader = { 'x-webhook-key': 'bench-stored-key', 'x-forwarded-for': '198.51.100.2' };
  const guesser = { 'x-webhook-key': 'bench-unknown-key', 'x-forwarded-for': '203.0.113.9' };
  const neighbour = { 'x-webhook-key': 'bench-stored-key', 'x-forwarded-for': '192.0.2.33' };
  try {
    console.log(`read-miss benchmark — ${machineFacts()}\n`);
    await autocannonProcess(url, reader, 3);
    const alone = await autocannonProcess(url, reader, SECONDS);
    const [besideHits, hits] = await Promise.all([
      autocannonProcess(url, reader, SECONDS),
      autocannonProcess(url, neighbour, SECONDS),
    ]);
    const [beside, flood] = await Promise.all([
      autocannonProcess(url, reader, SECONDS),
      autocannonProcess(url, guesser, SECONDS),
    ]);
    const after = await autocannonProcess(url, reader, SECONDS);
    const row = (name: string, run: typeof alone) => ({
      run: name,
      'req/s': run.rps,
      'p50 ms': run.p50,
      'p99 ms': run.p99,
      statuses: JSON.stringify(run.statuses),
    });
    console.log(
      table([
        row('reader alone', alone),
        row('reader beside the same load of hits', besideHits),
        row('the load of hits', hits),
        row('reader beside the flood', beside),
        row('the flood', flood),
        row('reader alone again', after),
      ]),
    );
  } finally {
    service.child.kill('SIGTERM');
    await service.exited;
    redis.disconnect();
    await redisServer.destroy();
  }
}

void main();

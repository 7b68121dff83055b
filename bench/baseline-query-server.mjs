// The baseline of bench/query.ts: bare Fastify + ioredis doing what a read fundamentally needs, one HMAC of the
// webhook key and one Redis GET, and nothing else. Usage: node baseline-query-server.mjs <redisUrl> <secret>
import Fastify from 'fastify';
import Redis from 'ioredis';
import { createHash, createHmac } from 'node:crypto';

const [redisUrl, secret] = process.argv.slice(2);
const redis = new Redis(redisUrl, { enableAutoPipelining: true });
const app = Fastify();

app.get('/v1/data', async (request, reply) => {
  const key = request.headers['x-webhook-key'];
  const keyHash = createHash('sha256').update(String(key)).digest();
  const body = await redis.getBuffer(`bl:${createHmac('sha256', secret).update(keyHash).digest('base64url')}`);
  if (body === null) return reply.code(404).send();
  return reply.header('content-type', 'application/json; charset=utf-8').send(body);
});

await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`listening on port ${app.server.address().port}`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));

// The ceiling of bench/query.ts: bare Fastify answering a constant 1 KiB JSON buffer, no Redis, no HMAC. What HTTP
// alone costs on the machine. Usage: node constant-route-server.mjs
import Fastify from 'fastify';

const body = Buffer.from(JSON.stringify({ data: { text: 'x'.repeat(1000) } }).padEnd(1024, ' '));
const app = Fastify();

app.get('/v1/data', async (_request, reply) =>
  reply.header('content-type', 'application/json; charset=utf-8').send(body),
);

await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`listening on port ${app.server.address().port}`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));

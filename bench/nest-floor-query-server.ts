/**
 * The framework floor of bench/query.ts: the baseline's work (one SHA-256 and one HMAC: the service's digest, one Redis GET, the stored bytes sent as
 * they are) as a minimal Nest 11 route on Fastify, without anything of the service (no guard, pipe, filter, logger,
 * metrics). The gap between it and the bare baseline is what Nest's per-request machinery costs on this machine.
 * Usage: ts-node --transpile-only nest-floor-query-server.ts <redisUrl> <secret>
 */
import 'reflect-metadata';
import { Controller, Get, Headers, Module, Res } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyReply } from 'fastify';
import Redis from 'ioredis';
import { createHash, createHmac } from 'node:crypto';
import { AddressInfo } from 'node:net';

const [redisUrl, secret] = process.argv.slice(2);
const redis = new Redis(redisUrl, { enableAutoPipelining: true });

@Controller('v1/data')
class FloorController {
  @Get()
  async read(@Headers('x-webhook-key') key: string, @Res() reply: FastifyReply): Promise<void> {
    const keyHash = createHash('sha256').update(String(key)).digest();
    const body = await redis.getBuffer(`bl:${createHmac('sha256', secret).update(keyHash).digest('base64url')}`);
    if (body === null) await reply.code(404).send();
    else await reply.header('content-type', 'application/json; charset=utf-8').send(body);
  }
}

@Module({ controllers: [FloorController] })
class FloorModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(FloorModule, new FastifyAdapter(), { logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  console.log(`listening on port ${(app.getHttpServer().address() as AddressInfo).port}`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

void main();

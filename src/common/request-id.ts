import { FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';

/** What createApp's genReqId gives a request that brought no sane x-request-id: one is made when needed. */
export const NO_REQUEST_ID_YET = '';

/** The request's id for an answer and its log line: the caller's sane x-request-id, else a fresh UUID, kept. */
export function requestIdOf(request: FastifyRequest): string {
  if (request.id === NO_REQUEST_ID_YET) request.id = randomUUID();
  return request.id;
}

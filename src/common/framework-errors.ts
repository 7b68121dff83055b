import { ConnectionError, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http';
import { Socket } from 'node:net';
import { errorBody } from './api-exception';
import { answerError } from './http-error.filter';

/**
 * Fastify refuses a malformed URL (broken percent-encoding) or an over-long path parameter before any route runs,
 * so Nest's HttpErrorFilter never sees it, and its own answer adds a `code` field and no request id. This gives
 * those answers the contract's error shape and an x-request-id like every other error.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  answerError(request, reply, error);
}

/**
 * Bytes that are not HTTP (an invalid character in the URL, broken framing, oversized headers) never become a
 * request. As Fastify's default does, answer once and close the connection, but with the contract's error body and a fresh
 * x-request-id.
 */
export function answerClientError(error: ConnectionError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'The request took too long to arrive']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'The request headers are too large']
        : [400, 'The request is not valid HTTP'];
  const body = JSON.stringify(errorBody(status, message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nx-request-id: ${randomUUID()}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/**
 * Node answers an `Expect` header other than 100-continue itself, with a bare 417; this gives that answer the
 * the contract's error body and a request id too.
 */
export function answerUnmetExpectation(_request: IncomingMessage, response: ServerResponse): void {
  const body = JSON.stringify(errorBody(417, 'Of the Expect header, only 100-continue is supported'));
  response
    .writeHead(417, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-request-id': randomUUID(),
    })
    .end(body);
}

import { FastifyRequest } from 'fastify';
import { NO_REQUEST_ID_YET, requestIdOf } from './request-id';

const requestWith = (id: string) => ({ id }) as FastifyRequest;

describe('requestIdOf', () => {
  it("keeps the caller's id", () => {
    expect(requestIdOf(requestWith('trace-1'))).toBe('trace-1');
  });

  it('makes a fresh UUID for a request without one, once: the answer and its log line carry the same', () => {
    const request = requestWith(NO_REQUEST_ID_YET);
    const id = requestIdOf(request);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(requestIdOf(request)).toBe(id);
    expect(requestIdOf(requestWith(NO_REQUEST_ID_YET))).not.toBe(id);
  });
});

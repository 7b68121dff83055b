import Fastify from 'fastify';
import { reserveFirstRequestHook, setFirstRequestHook } from './first-request-hook';

/** An instance with the slot reserved, then a hook added after it (as Nest's adapter adds its own), counting runs. */
function instanceWithLaterHook() {
  const fastify = Fastify();
  reserveFirstRequestHook(fastify);
  const later = { runs: 0 };
  fastify.addHook('onRequest', (_request, _reply, done) => {
    later.runs++;
    done();
  });
  fastify.get('/', async () => 'route');
  return { fastify, later };
}

describe('the first request hook', () => {
  it('runs before hooks added after the slot: a request it answers runs none of them', async () => {
    const { fastify, later } = instanceWithLaterHook();
    setFirstRequestHook(fastify, (_request, reply) => void reply.send('first'));
    expect((await fastify.inject('/')).body).toBe('first');
    expect(later.runs).toBe(0);
  });

  it('lets a request it does not answer go on to the later hooks and the route, as does an empty slot', async () => {
    const { fastify, later } = instanceWithLaterHook();
    expect((await fastify.inject('/')).body).toBe('route');
    setFirstRequestHook(fastify, (_request, _reply, done) => done());
    expect((await fastify.inject('/')).body).toBe('route');
    expect(later.runs).toBe(2);
  });

  it('refuses an instance without a slot, and a second hook', () => {
    expect(() => setFirstRequestHook(Fastify(), (_request, _reply, done) => done())).toThrow(/no first request hook/);
    const { fastify } = instanceWithLaterHook();
    setFirstRequestHook(fastify, (_request, _reply, done) => done());
    expect(() => setFirstRequestHook(fastify, (_request, _reply, done) => done())).toThrow(/taken/);
  });
});

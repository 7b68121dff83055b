import { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

export type FirstRequestHook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

/** The slot of each instance that reserved one: filled once, by the feature that answers before everything else. */
const slots = new WeakMap<FastifyInstance, { hook: FirstRequestHook | null }>();

/**
 * Makes the instance's first `onRequest` hook a slot that a feature fills later, once Nest has built it
 * (setFirstRequestHook). Call it before anything else adds hooks: Nest's Fastify adapter adds four `onRequest` hooks
 * (its middleware, CORS, unroutable targets, version errors) and `@fastify/middie` in its constructor, and Fastify
 * runs hooks in the order they were added. A request the slot's hook answers skips them all, which is about 3 µs of
 * the ~60 µs a cached read costs (bench/RESULTS.md, "Reads: hot and cold path cost"). None of them does anything
 * for the requests such a hook answers: the service sets no Nest middleware, no CORS and no versioning.
 */
export function reserveFirstRequestHook(fastify: FastifyInstance): void {
  const slot: { hook: FirstRequestHook | null } = { hook: null };
  slots.set(fastify, slot);
  fastify.addHook('onRequest', (request, reply, done) => {
    const { hook } = slot;
    if (hook === null) done();
    else hook(request, reply, done);
  });
}

/** Fills the slot reserveFirstRequestHook made; fails when it was not made or is taken. */
export function setFirstRequestHook(fastify: FastifyInstance, hook: FirstRequestHook): void {
  const slot = slots.get(fastify);
  if (slot === undefined) throw new Error('the Fastify instance has no first request hook slot (see createApp)');
  if (slot.hook !== null) throw new Error('the first request hook is taken');
  slot.hook = hook;
}

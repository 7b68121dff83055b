import request from 'supertest';
import { eventually } from './support/app';
import { useHarness } from './support/harness';
import { RedisServer } from './support/redis-server';

/**
 * REDIS_URL naming a node of a Redis Cluster (REDIS_CLUSTER_NODES forgotten): a single-server client gets MOVED or
 * CLUSTERDOWN for most keys, for ever. The service says so where an operator looks first, instead of pausing quietly.
 */
describe('REDIS_URL naming a Redis Cluster node', () => {
  const harness = useHarness({ apps: 0 });
  let clusterNode: RedisServer;

  beforeAll(async () => {
    clusterNode = await RedisServer.start(['--cluster-enabled', 'yes']);
    harness().defer(() => clusterNode.destroy());
  });

  it('reports Redis down in /health/ready with the reason, naming no host or port', async () => {
    const app = await harness().startApp({ REDIS_URL: clusterNode.url, REDIS_CLUSTER_NODES: '' });
    const ready = await eventually(
      async () => {
        const response = await request(app.url).get('/health/ready');
        return response.body.checks?.redis?.reason !== undefined ? response : undefined;
      },
      15_000,
      'the redis check to give its reason',
    );
    expect(ready.status).toBe(503);
    expect(ready.body.checks.redis).toMatchObject({
      status: 'down',
      reason: 'REDIS_URL names a node of a Redis Cluster: set REDIS_CLUSTER_NODES instead',
    });
    expect(JSON.stringify(ready.body)).not.toContain(String(new URL(clusterNode.url).port));
  });
});

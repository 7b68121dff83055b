import Redis, { Cluster } from 'ioredis';
import { RedisCluster } from './redis-cluster';
import { RedisServer } from './redis-server';

/** The Redis an end-to-end suite runs the service against, standalone or a cluster, and a way to look inside it. */
export interface RedisTarget {
  /** What the suite runs against, for its title. */
  label: string;
  /** The variables that point the service at this Redis. */
  env: Record<string, string>;
  /** The suite's own client, to check what the service stored; routes each key to its node on a cluster. */
  inspect: Redis | Cluster;
  /** Every key matching `pattern`, on every master. */
  keys(pattern: string): Promise<string[]>;
  stop(): Promise<void>;
}

export type StartRedisTarget = () => Promise<RedisTarget>;

/** A private redis-server: the server itself is there for suites that stop, relaunch or replicate it. */
export interface StandaloneRedis extends RedisTarget {
  server: RedisServer;
  inspect: Redis;
}

/** Starts a private redis-server with `extraArgs` (e.g. persistence for a kill -9 drill) and a client to inspect it. */
export async function standaloneRedis(extraArgs: string[] = []): Promise<StandaloneRedis> {
  const server = await RedisServer.start(extraArgs);
  // Connected on its first command: a suite that stops the server and never inspects it gets no reconnect noise.
  const inspect = new Redis(server.url, { lazyConnect: true });
  return {
    label: 'a standalone redis-server',
    env: { REDIS_URL: server.url },
    server,
    inspect,
    keys: (pattern) => inspect.keys(pattern),
    async stop() {
      inspect.disconnect();
      await server.destroy();
    },
  };
}

export const redisCluster: StartRedisTarget = async () => {
  const cluster = await RedisCluster.start();
  const inspect = new Cluster(cluster.nodes.map(parseNode));
  try {
    await new Promise<void>((resolve, reject) => {
      inspect.once('ready', resolve);
      inspect.once('error', reject);
    });
  } catch (error) {
    inspect.disconnect();
    await cluster.stop();
    throw error;
  }
  return {
    label: 'a 3-node Redis Cluster',
    // REDIS_URL empty: REDIS_CLUSTER_NODES alone says where Redis is.
    env: { REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.nodes.join(',') },
    inspect,
    keys: async (pattern) => (await Promise.all(inspect.nodes('master').map((node) => node.keys(pattern)))).flat(),
    async stop() {
      inspect.disconnect();
      await cluster.stop();
    },
  };
};

function parseNode(node: string): { host: string; port: number } {
  const [host, port] = node.split(':');
  return { host, port: Number(port) };
}

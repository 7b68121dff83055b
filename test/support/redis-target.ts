import Redis, { Cluster } from 'ioredis';
import { RedisCluster, RedisClusterOptions } from './redis-cluster';
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

/** A private Redis Cluster: the cluster itself is there for suites that kill a master and bring it back. */
export interface ClusterRedis extends RedisTarget {
  cluster: RedisCluster;
  inspect: Cluster;
}

/** Starts a private Redis Cluster (three masters without replicas unless `options` say otherwise). */
export function clusterRedis(options: RedisClusterOptions = {}): () => Promise<ClusterRedis> {
  return async () => {
    const cluster = await RedisCluster.start(options);
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
    const { masters = 3, replicas = 0 } = options;
    return {
      label: `a ${masters}-master Redis Cluster${replicas > 0 ? ` with ${replicas} replica(s) each` : ''}`,
      // REDIS_URL empty: REDIS_CLUSTER_NODES alone says where Redis is.
      env: { REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.nodes.join(',') },
      cluster,
      inspect,
      keys: async (pattern) => (await Promise.all(inspect.nodes('master').map((node) => node.keys(pattern)))).flat(),
      async stop() {
        inspect.disconnect();
        await cluster.stop();
      },
    };
  };
}

export const redisCluster: StartRedisTarget = clusterRedis();

function parseNode(node: string): { host: string; port: number } {
  const [host, port] = node.split(':');
  return { host, port: Number(port) };
}

import Redis from 'ioredis';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { eventually } from './app';
import { freePort, RedisServer } from './redis-server';

const run = promisify(execFile);

export interface RedisClusterOptions {
  /** Masters (default 3). */
  masters?: number;
  /** Replicas per master (default 0). */
  replicas?: number;
  /**
   * cluster-node-timeout in ms (Redis's default 15 s unless given): how long a master may be unreachable before its
   * replica is promoted. Failover drills set it short.
   */
  nodeTimeoutMs?: number;
}

/** One node as CLUSTER NODES shows it. */
export interface ClusterNode {
  id: string;
  /** `127.0.0.1:port` */
  address: string;
  role: 'master' | 'replica';
  /** For a replica, the id of its master. */
  masterId: string | null;
  failed: boolean;
  /** The slot ranges a master serves, as `start-end`. */
  slots: string[];
}

/**
 * A private Redis Cluster for one test suite: three masters (by default, no replicas), each a RedisServer of its own
 * (random port, no persistence, its own directory, where it also keeps its nodes.conf). The cluster bus gets a port of
 * its own too, because the default (port + 10000) may be taken or past 65535 for a random port. A failover drill kills
 * a master (`kill -9`) and relaunches it: from its nodes.conf it rejoins, as a replica of the node that took over.
 */
export class RedisCluster {
  private constructor(private readonly servers: RedisServer[]) {}

  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const { masters = 3, replicas = 0, nodeTimeoutMs } = options;
    const servers: RedisServer[] = [];
    const cluster = new RedisCluster(servers);
    try {
      for (let index = 0; index < masters * (1 + replicas); index++) {
        const busPort = await freePort();
        servers.push(
          await RedisServer.start([
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-port',
            String(busPort),
            ...(nodeTimeoutMs === undefined ? [] : ['--cluster-node-timeout', String(nodeTimeoutMs)]),
          ]),
        );
      }
      await run(
        'redis-cli',
        ['--cluster', 'create', ...cluster.nodes, '--cluster-replicas', String(replicas), '--cluster-yes'],
        { timeout: 30_000 },
      );
      await cluster.untilHealthy();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** Every node as `host:port`, the form REDIS_CLUSTER_NODES takes. */
  get nodes(): string[] {
    return this.servers.map((server) => `127.0.0.1:${server.port}`);
  }

  /** The node's view of the cluster, from any running node. */
  async topology(): Promise<ClusterNode[]> {
    const server = this.servers.find((candidate) => candidate.running);
    if (!server) throw new Error('no cluster node is running');
    const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      const text = (await client.cluster('NODES')) as string;
      return text
        .trim()
        .split('\n')
        .map((line) => {
          const [id, address, flags, masterId, , , , , ...slots] = line.split(' ');
          return {
            id,
            address: address.split('@')[0],
            role: flags.includes('master') ? ('master' as const) : ('replica' as const),
            masterId: masterId === '-' ? null : masterId,
            failed: flags.includes('fail'),
            slots,
          };
        });
    } finally {
      client.disconnect();
    }
  }

  /** The server behind `address` (`127.0.0.1:port`). */
  server(address: string): RedisServer {
    const found = this.servers.find((server) => `127.0.0.1:${server.port}` === address);
    if (!found) throw new Error(`no node at ${address}`);
    return found;
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.destroy()));
  }

  /**
   * Waits until every running node says cluster_state:ok with every slot assigned and knows every node, and every
   * replica is in sync with its master. After
   * `redis-cli --cluster create` the nodes learn about each other over the bus a little later, and after a failover
   * the survivors agree a little after the promotion: a client that connects before can be sent MOVED in circles.
   */
  async untilHealthy(timeoutMs = 30_000): Promise<void> {
    const running = this.servers.filter((server) => server.running);
    const clients = running.map((server) => new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 }));
    try {
      await eventually(
        async () => {
          const infos = await Promise.all(clients.map((client) => client.cluster('INFO')));
          // A replica that has not finished its first sync cannot take over: it knows no data to take over with.
          const replication = await Promise.all(clients.map((client) => client.info('replication')));
          const synced = replication.every(
            (info) => info.includes('role:master') || info.includes('master_link_status:up'),
          );
          const healthy =
            synced &&
            infos.every(
              (info) =>
                info.includes('cluster_state:ok') &&
                info.includes('cluster_slots_assigned:16384') &&
                info.includes('cluster_slots_fail:0') &&
                info.includes(`cluster_known_nodes:${this.servers.length}`),
            );
          return healthy ? true : undefined;
        },
        timeoutMs,
        'every cluster node to report cluster_state:ok',
      );
    } finally {
      for (const client of clients) client.disconnect();
    }
  }
}

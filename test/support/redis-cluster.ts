import Redis from 'ioredis';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { eventually } from './app';
import { freePort, RedisServer } from './redis-server';

const run = promisify(execFile);

/**
 * A private Redis Cluster for one test suite: three masters, no replicas, each a RedisServer of its own (random
 * port, no persistence, its own directory, where it also keeps its nodes.conf). The cluster bus gets a port of its
 * own too, because the default (port + 10000) may be taken or past 65535 for a random port.
 */
export class RedisCluster {
  private constructor(private readonly servers: RedisServer[]) {}

  static async start(size = 3): Promise<RedisCluster> {
    const servers: RedisServer[] = [];
    const cluster = new RedisCluster(servers);
    try {
      for (let index = 0; index < size; index++) {
        const busPort = await freePort();
        servers.push(
          await RedisServer.start([
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-port',
            String(busPort),
          ]),
        );
      }
      await run('redis-cli', ['--cluster', 'create', ...cluster.nodes, '--cluster-replicas', '0', '--cluster-yes'], {
        timeout: 30_000,
      });
      await cluster.untilEveryNodeAgrees();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** The nodes as `host:port`, the form REDIS_CLUSTER_NODES takes. */
  get nodes(): string[] {
    return this.servers.map((server) => `127.0.0.1:${server.port}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.destroy()));
  }

  /**
   * `redis-cli --cluster create` returns once the slots are assigned; the nodes learn about each other over the
   * bus a little later. A client that connects before every node says cluster_state:ok can be sent MOVED in circles.
   */
  private async untilEveryNodeAgrees(): Promise<void> {
    const clients = this.servers.map((server) => new Redis(server.url, { lazyConnect: true }));
    try {
      await eventually(
        async () => {
          const infos = await Promise.all(clients.map((client) => client.cluster('INFO')));
          const healthy = infos.every(
            (info) =>
              info.includes('cluster_state:ok') &&
              info.includes('cluster_slots_assigned:16384') &&
              info.includes(`cluster_known_nodes:${this.servers.length}`),
          );
          return healthy ? true : undefined;
        },
        30_000,
        'every cluster node to report cluster_state:ok',
      );
    } finally {
      for (const client of clients) client.disconnect();
    }
  }
}

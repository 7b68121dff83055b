import Redis, { Cluster } from 'ioredis';
import { DependencyUnavailableError } from '../common/dependency-unavailable.error';
import { scanTargets } from './redis-client';

// lazyConnect: these clients never open a connection, so no Redis is needed.
describe('scanTargets', () => {
  it('scans the one server of a standalone client', () => {
    const redis = new Redis({ lazyConnect: true });
    expect(scanTargets(redis)).toEqual([redis]);
    redis.disconnect();
  });

  it('refuses to scan a cluster that is not ready, as Redis being unavailable', () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true });
    expect(() => scanTargets(cluster)).toThrow(DependencyUnavailableError);
    expect(() => scanTargets(cluster)).toThrow('Redis is unavailable: the cluster is wait');
    cluster.disconnect();
  });
});

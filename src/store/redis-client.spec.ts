import calculateSlot from 'cluster-key-slot';
import Redis, { Cluster } from 'ioredis';
import { DependencyUnavailableError } from '../common/dependency-unavailable.error';
import { keyInSlot, keysOnEveryMaster, scanTargets } from './redis-client';

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

describe('keyInSlot', () => {
  it('finds a key of the base in any slot, the same one each time', () => {
    for (const slot of [0, 5460, 5461, 16383]) {
      const key = keyInSlot('sg:probe:write', slot);
      expect(key.startsWith('sg:probe:write{')).toBe(true);
      expect(calculateSlot(key)).toBe(slot);
      expect(keyInSlot('sg:probe:write', slot)).toBe(key);
    }
  });
});

describe('keysOnEveryMaster', () => {
  it('probes the one key on a standalone server', () => {
    const redis = new Redis({ lazyConnect: true });
    expect(keysOnEveryMaster(redis, 'sg:probe:write')).toEqual([{ node: redis, key: 'sg:probe:write' }]);
    redis.disconnect();
  });
});

import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import request from 'supertest';
import { KeyLayout, WebhookKeyDigester } from '../src/store/key-layout';
import { RecordReader } from '../src/store/record-reader';
import { WEBHOOK_KEY_SECRET } from './support/app';
import { useHarness } from './support/harness';
import { applySet, followingChanges, freshKey, read, send, untilWaiting } from './support/reads';
import { redisCluster } from './support/redis-target';

const keyLayout = new KeyLayout('sg:');
const digester = new WebhookKeyDigester(WEBHOOK_KEY_SECRET);

/** Two instances on a three-master Redis Cluster: changes on any master reach the other instance. */
describe('waiting reads and the coherent read cache on a 3-node Redis Cluster', () => {
  const harness = useHarness({ redis: redisCluster, apps: 2 });
  const writer = () => harness().apps[0];
  const reader = () => harness().apps[1];

  beforeAll(async () => {
    await followingChanges(writer());
    await followingChanges(reader());
  });

  /** One key whose record lives on each master. */
  async function keyPerMaster(): Promise<string[]> {
    const cluster = harness().redis.inspect as Cluster;
    const masters = cluster.nodes('master');
    const slotOwners = await cluster.cluster('SLOTS');
    const masterOf = (key: string) => {
      const slot = calculateSlot(keyLayout.record(digester.digest(key)));
      const range = slotOwners.find(([start, end]) => slot >= start && slot <= end);
      return range === undefined ? '' : `${range[2][0]}:${range[2][1]}`;
    };
    const byMaster = new Map<string, string>();
    while (byMaster.size < masters.length) {
      const key = freshKey('cluster');
      const master = masterOf(key);
      if (!byMaster.has(master)) byMaster.set(master, key);
    }
    return [...byMaster.values()];
  }

  it('wakes a waiter on another instance within 1 s of a set, whichever master holds the key', async () => {
    for (const key of await keyPerMaster()) {
      const pending = send(read(reader(), key, { prefer: 'wait=20' }));
      await untilWaiting(reader(), 1);
      const setAt = Date.now();
      await applySet(writer(), [key], { master: key });
      const { response, at } = await pending;
      expect(response.status).toBe(200);
      expect(response.body.data).toEqual({ master: key });
      expect(at - setAt).toBeLessThan(1000);
    }
  });

  it("drops another instance's cached records and shared bodies on every master when they change", async () => {
    const keys = await keyPerMaster();
    const single = keys[0];
    await applySet(writer(), keys, { step: 1 });
    await applySet(writer(), [single], { step: 'inline 1' });
    const readAll = () => request(reader().url).post('/v1/data/batch-get').send({ webhookKeys: keys });
    await readAll();
    expect(reader().app.get(RecordReader).cacheBytes).toBeGreaterThan(0);

    await applySet(writer(), keys, { step: 2 });
    await applySet(writer(), [single], { step: 'inline 2' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await readAll();
    expect(after.body.items[single].data).toEqual({ step: 'inline 2' });
    for (const key of keys.slice(1)) expect(after.body.items[key].data).toEqual({ step: 2 });
  });
});

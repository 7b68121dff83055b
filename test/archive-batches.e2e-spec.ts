import request from 'supertest';
import { ArchiveRepository } from '../src/archive/archive.repository';
import { RecordWrite } from '../src/archive/archive-documents';
import { JournalStore } from '../src/store/journal-store';
import { RecordStore } from '../src/store/record-store';
import { ADMIN_KEY, eventually } from './support/app';
import { useHarness } from './support/harness';

const DATUMS = 24;
const MAX_MESSAGE_BYTES = 1_048_576;
/** 700,000 characters of data: six datums pass a batch's budget, so a pass takes four bulk writes. */
const DATA_JSON = JSON.stringify({ text: 'x'.repeat(700_000) });

/** Characters of documents a bulk write carries (its datums' `body`). */
function bodyChars(writes: RecordWrite[]): number {
  let chars = 0;
  for (const write of writes) {
    const body = 'updateOne' in write ? (write.updateOne.update as { $set?: { body?: string } }).$set?.body : undefined;
    chars += body?.length ?? 0;
  }
  return chars;
}

describe('archive batches bounded in bytes (large records)', () => {
  const harness = useHarness({ mongo: true });

  it('copies records as large as MAX_MESSAGE_BYTES allows in bulk writes within the byte budget, read a few at a time', async () => {
    const app = await harness().startApp({ ARCHIVE_CRON: '0 0 1 1 *', MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) });
    await eventually(async () => ((await fetch(`${app.url}/health/ready`)).status === 200 ? true : undefined));
    const store = app.app.get(RecordStore);
    for (let n = 0; n < DATUMS; n++) {
      await store.write(
        { op: 'set', accountId: 'acme', flowId: 'big', webhookKeys: [`big-key-${n}`], dataJson: DATA_JSON, version: 1 },
        { datumId: `big-datum-${n}`, ttlSeconds: 3600, now: Date.now() },
      );
    }
    // Spies that call through: what each bulk write carried, and how many records each Redis read asked for.
    const repository = app.app.get(ArchiveRepository);
    const writeRecords = repository.writeRecords.bind(repository);
    const written: number[] = [];
    jest.spyOn(repository, 'writeRecords').mockImplementation((writes) => {
      if (writes.length > 0) written.push(bodyChars(writes));
      return writeRecords(writes);
    });
    const journalReads = jest.spyOn(app.app.get(JournalStore), 'batches');
    const snapshotReads = jest.spyOn(store, 'scanDatums');

    const started = await request(app.url).post('/admin/archive/runs').set('x-api-key', ADMIN_KEY).send({});
    expect(started.status).toBe(202);
    const run = await eventually(
      async () => {
        const { body } = await request(app.url)
          .get(`/admin/archive/runs/${started.body.runId}`)
          .set('x-api-key', ADMIN_KEY);
        return body.status === 'running' ? undefined : body;
      },
      60_000,
      'the archive run to finish',
    );
    expect(run.status).toBe('succeeded');

    // Every stored document has the same length (same data, version and time layout).
    const body = (await request(app.url).get('/v1/data').set('x-webhook-key', 'big-key-0')).text.length;
    expect(body).toBeGreaterThan(700_000);
    // Every datum twice (the journal's drain, then the snapshot), none in a write past 4 Mi characters and its last
    // body; the snapshot's writes full: six datums each (five are below the budget).
    expect(written.reduce((total, chars) => total + chars, 0)).toBe(2 * DATUMS * body);
    for (const chars of written) expect(chars).toBeLessThan(4 * 1_048_576 + body);
    expect(written.slice(-4)).toEqual([6 * body, 6 * body, 6 * body, 6 * body]);
    // Three records of up to 1 MiB fit the budget: no Redis read asks for more.
    expect(journalReads).toHaveBeenCalled();
    for (const [, count] of journalReads.mock.calls) expect(count).toBe(3);
    expect(snapshotReads.mock.calls).toEqual([[500, 3]]);
  });
});

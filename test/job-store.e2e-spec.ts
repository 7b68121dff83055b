import { JOB_KIND } from '../src/jobs/job-kinds';
import { KeyLayout } from '../src/store/key-layout';
import { JobRecord, JobStore } from '../src/store/job-store';
import { usePrivateRedis } from './support/redis-server';

/** Admin jobs that exclude each other (re-key, erasure) against a real Redis: checked and recorded in one step. */
describe('JobStore exclusive starts', () => {
  const privateRedis = usePrivateRedis();
  const client = () => privateRedis().client;
  let jobs: JobStore;
  let sequence = 0;

  const job = (kind: string): JobRecord => ({
    jobId: `job-${++sequence}`,
    kind,
    status: 'running',
    progress: {},
    startedAt: new Date().toISOString(),
    finishedAt: null,
    params: {},
  });

  beforeAll(async () => {
    jobs = new JobStore(client(), new KeyLayout('sg:'));
  });

  beforeEach(() => client().flushall());

  it('lets exactly one of many simultaneous re-key starts through, and no erasure beside it', async () => {
    const attempts = Array.from({ length: 20 }, (_, n) =>
      n % 2 === 0 ? job(JOB_KIND.rekey) : job(JOB_KIND.eraseAccount),
    );
    const outcomes = await Promise.all(
      attempts.map((attempt) =>
        jobs.createExclusive(
          attempt,
          attempt.kind === JOB_KIND.rekey ? [JOB_KIND.rekey, JOB_KIND.eraseAccount] : [JOB_KIND.rekey],
        ),
      ),
    );
    const running = await jobs.running();
    // The first to arrive decides: one re-key alone, or any number of erasures and no re-key.
    const kinds = new Set(running.map(({ kind }) => kind));
    expect(kinds.size).toBe(1);
    if (kinds.has(JOB_KIND.rekey)) expect(running).toHaveLength(1);
    else expect(running).toHaveLength(10);
    expect(outcomes.filter((outcome) => outcome === null)).toHaveLength(running.length);
    for (const outcome of outcomes) {
      if (outcome !== null) expect(running.map(({ jobId }) => jobId)).toContain(outcome.jobId);
    }
  });

  it('starts a re-key once the job that excluded it has finished, and names that job while it runs', async () => {
    const erasure = job(JOB_KIND.eraseAccount);
    expect(await jobs.createExclusive(erasure, [JOB_KIND.rekey])).toBeNull();
    const rekey = job(JOB_KIND.rekey);
    expect(await jobs.createExclusive(rekey, [JOB_KIND.rekey, JOB_KIND.eraseAccount])).toEqual({
      jobId: erasure.jobId,
      kind: JOB_KIND.eraseAccount,
    });
    expect(await jobs.get(rekey.jobId)).toBeNull();
    // A redrive does not exclude anything, and nothing excludes it.
    await jobs.create(job(JOB_KIND.redrive), ['item']);
    await jobs.save({ ...erasure, status: 'succeeded', finishedAt: new Date().toISOString() });
    expect(await jobs.createExclusive(rekey, [JOB_KIND.rekey, JOB_KIND.eraseAccount])).toBeNull();
    expect((await jobs.running()).map(({ kind }) => kind).sort()).toEqual([JOB_KIND.redrive, JOB_KIND.rekey].sort());
  });

  it('is not blocked for ever by a running-jobs entry whose record is gone or ended, but is by an unreadable one', async () => {
    const keys = new KeyLayout('sg:');
    const rekeyExcludes = [JOB_KIND.rekey, JOB_KIND.eraseAccount];
    // An erasure listed as running whose record was removed by hand: nothing would ever take it over and end it.
    const vanished = job(JOB_KIND.eraseAccount);
    expect(await jobs.createExclusive(vanished, [JOB_KIND.rekey])).toBeNull();
    await client().del(keys.job(vanished.jobId));
    // One whose record says it ended while its entry stayed.
    const ended = job(JOB_KIND.eraseAccount);
    expect(await jobs.createExclusive(ended, [JOB_KIND.rekey])).toBeNull();
    await client().set(keys.job(ended.jobId), JSON.stringify({ ...ended, status: 'failed' }));
    const rekey = job(JOB_KIND.rekey);
    expect(await jobs.createExclusive(rekey, rekeyExcludes)).toBeNull();
    expect(await client().hkeys(keys.runningJobs())).toEqual([rekey.jobId]);
    await jobs.save({ ...rekey, status: 'succeeded', finishedAt: new Date().toISOString() });
    // A record that cannot be read is taken for a running job: the start is refused rather than risked.
    const unreadable = job(JOB_KIND.eraseAccount);
    expect(await jobs.createExclusive(unreadable, [JOB_KIND.rekey])).toBeNull();
    await client().set(keys.job(unreadable.jobId), 'not json');
    expect(await jobs.createExclusive(job(JOB_KIND.rekey), rekeyExcludes)).toEqual({
      jobId: unreadable.jobId,
      kind: JOB_KIND.eraseAccount,
    });
  });
});

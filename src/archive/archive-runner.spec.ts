import fc from 'fast-check';
import { ARCHIVE_BATCH_LIMITS, recordsReadAtOnce } from './archive-runner';

describe('recordsReadAtOnce', () => {
  it('reads as many records at once as a batch may hold when each is as large as MAX_MESSAGE_BYTES allows', () => {
    expect(recordsReadAtOnce(262_144, ARCHIVE_BATCH_LIMITS)).toBe(15);
    expect(recordsReadAtOnce(1_048_576, ARCHIVE_BATCH_LIMITS)).toBe(3);
    expect(recordsReadAtOnce(1024, ARCHIVE_BATCH_LIMITS)).toBe(ARCHIVE_BATCH_LIMITS.items);
  });

  it('never reads more body characters at once than a batch may hold (one record at least)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1024, max: 1_048_576 }), (maxMessageBytes) => {
        const count = recordsReadAtOnce(maxMessageBytes, ARCHIVE_BATCH_LIMITS);
        expect(count).toBeGreaterThanOrEqual(1);
        expect(count).toBeLessThanOrEqual(ARCHIVE_BATCH_LIMITS.items);
        // The largest body: the message's data and what renderRecordBody writes around it (ids, version, times).
        const largestBody = maxMessageBytes + 1024;
        expect(count * largestBody).toBeLessThanOrEqual(ARCHIVE_BATCH_LIMITS.weight);
      }),
    );
  });
});

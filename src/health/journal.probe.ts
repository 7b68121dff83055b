import { Injectable } from '@nestjs/common';
import { JournalStore } from '../store/journal-store';
import { DegradedDetails, DependencyProbe, ReadinessProbe } from './dependency-probe';

/**
 * The write journal's bound (ARCHIVE_JOURNAL_MAX_BYTES): once it has dropped entries the archive had not copied,
 * the journal shows as `degraded` until an archive run has drained it. Optional: ingest and reads go on.
 */
@Injectable()
@ReadinessProbe()
export class JournalProbe implements DependencyProbe {
  readonly name = 'journal';
  readonly required = false;

  constructor(private readonly journal: JournalStore) {}

  async check(): Promise<void | DegradedDetails> {
    const state = await this.journal.state();
    if (state.droppedSinceDrain === 0) return;
    return {
      degraded: true,
      message: `the journal reached ARCHIVE_JOURNAL_MAX_BYTES and dropped ${state.droppedSinceDrain} entries no archive run had copied`,
      droppedEntries: state.droppedSinceDrain,
      bytes: state.bytes,
      maxBytes: state.maxBytes,
    };
  }
}

/**
 * Every kind of admin job, in one place: the jobs that must not run beside each other (re-key and erasure) look each
 * other up by kind, and GET /admin/jobs shows it.
 */
export const JOB_KIND = {
  /** Dead letters back to the ingest queue (src/dead-letter). */
  redrive: 'redrive',
  /** Every webhook key moved to the newest secret (src/rekey). */
  rekey: 'rekey',
  /** One account's data erased (src/erasure). */
  eraseAccount: 'erase-account',
} as const;

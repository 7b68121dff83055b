/**
 * The boundaries between the folders of src, checked by `npm run lint:deps` (part of `npm test`).
 * docs/architecture-rules.md explains each folder and rule. Tests, bench and infra may import anything: only src
 * is cruised, and unit specs (the .spec.ts files in src) are left out.
 */

/** A folder of src, as a path pattern. */
const folder = (...names) => `^src/(${names.join('|')})/`;
/** Packages, as a path pattern of what they resolve to. */
const packages = (...names) => `^node_modules/(${names.join('|')})/`;

/** A folder may not import from the others listed. */
const mayNotImport = (name, from, to, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: folder(from) },
  to: { path: folder(...to) },
});

/** Only `owner` may import these packages: everyone else goes through it. */
const onlyIn = (name, owner, packageNames, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { pathNot: folder(owner) },
  to: { path: packages(...packageNames) },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No module may import itself through others.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      comment: 'No folder of src may depend on itself through other folders.',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    mayNotImport('gateway-not-to-store', 'gateway', ['store'], 'The gateway only queues: it never touches Redis.'),
    mayNotImport(
      'store-is-below-features',
      'store',
      ['gateway', 'ingest', 'query', 'archive', 'queue', 'reconcile', 'health'],
      'The store is used by the features, never the other way round.',
    ),
    mayNotImport('query-not-to-ingest', 'query', ['ingest'], 'Reads do not depend on the write path.'),
    mayNotImport('message-not-to-store', 'message', ['store'], 'The message contract knows nothing of storage.'),
    mayNotImport('common-not-to-store', 'common', ['store'], 'Shared plumbing knows nothing of storage.'),
    onlyIn(
      'redis-only-in-store',
      'store',
      ['ioredis', '@nestjs-modules/ioredis', 'cluster-key-slot'],
      "Redis is the store's.",
    ),
    onlyIn(
      'mongodb-only-in-archive',
      'archive',
      ['mongoose', '@nestjs/mongoose', 'mongodb'],
      "MongoDB is the archive's.",
    ),
    onlyIn('sqs-only-in-queue', 'queue', ['@aws-sdk/client-sqs', '@smithy/[^/]+'], "SQS is the queue's."),
    onlyIn(
      'sqs-consumer-only-in-ingest',
      'ingest',
      ['@ssut/nestjs-sqs'],
      'The worker composes its consumer (with the client from src/queue) in ingest.',
    ),
  ],
  options: {
    exclude: { path: '\\.spec\\.ts$' },
    doNotFollow: { path: '^node_modules/' },
    // Type-only imports count: a type from a package is still a dependency on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};

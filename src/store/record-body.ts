import { createHash } from 'node:crypto';

export interface RecordBodyFields {
  accountId: string;
  flowId: string;
  /** The JSON text of the data, spliced in as it is: it was checked when the message was validated. */
  dataJson: string;
  version: number | null;
  storedAt: number;
  expiresAt: number | null;
}

/** The exact bytes GET /v1/data answers with, rendered once at write time, and their strong ETag. */
export interface RecordBody {
  json: string;
  etag: string;
}

export function renderRecordBody(fields: RecordBodyFields): RecordBody {
  const json =
    `{"accountId":${JSON.stringify(fields.accountId)},"flowId":${JSON.stringify(fields.flowId)},` +
    `"data":${fields.dataJson},"version":${fields.version === null ? 'null' : fields.version},` +
    `"storedAt":"${new Date(fields.storedAt).toISOString()}",` +
    `"expiresAt":${fields.expiresAt === null ? 'null' : `"${new Date(fields.expiresAt).toISOString()}"`}}`;
  return { json, etag: etagOf(json) };
}

/** A strong ETag of a document: 160 bits of SHA-256, collision-free in practice and short enough for every record. */
export function etagOf(json: string): string {
  return `"${createHash('sha256').update(json).digest('base64url').slice(0, 27)}"`;
}

const NEVER_EXPIRES_TAIL = '"expiresAt":null}';
const EXPIRES_AT_TAIL = /"expiresAt":"([^"]{20,30})"}$/;
/** Longer than either tail with any ISO 8601 time renderRecordBody writes. */
const TAIL_BYTES = 48;

/**
 * When a rendered document expires (Unix ms), null for never, read from its last field (renderRecordBody always
 * writes expiresAt last); undefined when the document does not end that way.
 */
export function expiryOfBody(body: Buffer): number | null | undefined {
  const tail = body.toString('latin1', Math.max(0, body.length - TAIL_BYTES));
  if (tail.endsWith(NEVER_EXPIRES_TAIL)) return null;
  const match = EXPIRES_AT_TAIL.exec(tail);
  if (match === null) return undefined;
  const expiresAt = Date.parse(match[1]);
  return Number.isNaN(expiresAt) ? undefined : expiresAt;
}

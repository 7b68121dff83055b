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

/**
 * Account and flow ids: short enough that `accountId:flowId` fits SQS's 128-character MessageGroupId, and free of
 * characters that would need escaping in Redis keys, URLs or log lines.
 */
export const ENTITY_ID_PATTERN = /^[A-Za-z0-9._-]{1,63}$/;
export const ENTITY_ID_RULE = '1 to 63 characters of A-Z a-z 0-9 . _ -';

/** A webhook key: 8 to 512 printable ASCII characters, no whitespace. */
export const WEBHOOK_KEY_PATTERN = /^[\x21-\x7e]{8,512}$/;
export const WEBHOOK_KEY_RULE = '8 to 512 printable ASCII characters without whitespace';

/** Longest TTL a policy may set: ten years. */
export const MAX_TTL_SECONDS = 315_360_000;

import 'reflect-metadata';
import Ajv, { ValidateFunction } from 'ajv-draft-04';
import { recordMessageJsonSchema } from '../src/message/record-message.schema';
import { validateRecordMessage } from '../src/message/record-message.validation';

/**
 * The JSON schema API Gateway validates producer bodies with (generated from RecordMessageDto) must accept and
 * refuse exactly what the service itself does: a body API Gateway lets through but the worker refuses ends in the
 * dead-letter queue after a 202; the other way round, a producer is refused for a message the service would take.
 * ajv-draft-04 stands in for API Gateway's draft-4 validator.
 */

const key = (length: number, fill = 'k') => `wh_${fill.repeat(length - 3)}`;
const keys = (count: number) => Array.from({ length: count }, (_, i) => `wh_key_${String(i).padStart(5, '0')}`);
const id63 = 'a'.repeat(63);
const id64 = 'a'.repeat(64);
const minimalJson = '"accountId":"a","flowId":"f","webhookKeys":["wh_12345"],"data":1';
const base = { accountId: 'acme', flowId: 'orders-sync', webhookKeys: ['wh_7f3c9a1e2b4d'], data: { orderId: 'A-1' } };
const { data: _data, ...withoutData } = base;
const { accountId: _accountId, ...withoutAccount } = base;
const { flowId: _flowId, ...withoutFlow } = base;
const { webhookKeys: _webhookKeys, ...withoutKeys } = base;

type Case = [name: string, body: unknown, valid: boolean];

const VALID: Case[] = [
  ['set with op absent', base, true],
  ['op "set" explicit', { ...base, op: 'set' }, true],
  ['op "delete" without data', { ...withoutData, op: 'delete' }, true],
  ['delete with a version', { ...withoutData, op: 'delete', version: 42 }, true],
  ['accountId of 63 characters', { ...base, accountId: id63 }, true],
  ['flowId of 63 characters', { ...base, flowId: id63 }, true],
  ['ids of 1 character', { ...base, accountId: 'a', flowId: 'b' }, true],
  ['ids with . _ -', { ...base, accountId: 'acme.eu_1-x', flowId: 'A.b_C-9' }, true],
  ['webhook key of 8 characters', { ...base, webhookKeys: [key(8)] }, true],
  ['webhook key of 512 characters', { ...base, webhookKeys: [key(512)] }, true],
  [
    'webhook key of every punctuation character',
    { ...base, webhookKeys: ['!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'] },
    true,
  ],
  ['1000 unique webhook keys', { ...base, webhookKeys: keys(1000) }, true],
  ['data an empty string', { ...base, data: '' }, true],
  ['data 0', { ...base, data: 0 }, true],
  ['data a negative float', { ...base, data: -1.5 }, true],
  ['data false', { ...base, data: false }, true],
  ['data an empty array', { ...base, data: [] }, true],
  ['data an array holding null', { ...base, data: [null] }, true],
  ['data an empty object', { ...base, data: {} }, true],
  ['data a nested document', { ...base, data: { a: { b: [1, { c: null }] } } }, true],
  ['version 0', { ...base, version: 0 }, true],
  ['version 2^53 - 1', { ...base, version: Number.MAX_SAFE_INTEGER }, true],
  ['version 1.0 (an integer in JSON)', JSON.parse(`{${minimalJson},"version":1.0}`), true],
];

const INVALID: Case[] = [
  ['accountId of 64 characters', { ...base, accountId: id64 }, false],
  ['flowId of 64 characters', { ...base, flowId: id64 }, false],
  ['accountId empty', { ...base, accountId: '' }, false],
  ['accountId with a colon', { ...base, accountId: 'acme:eu' }, false],
  ['accountId with a space', { ...base, accountId: 'ac me' }, false],
  ['accountId with a trailing newline', { ...base, accountId: 'acme\n' }, false],
  ['accountId with non-ASCII letters', { ...base, accountId: 'acmé' }, false],
  ['accountId a number', { ...base, accountId: 42 }, false],
  ['flowId null', { ...base, flowId: null }, false],
  ['accountId missing', withoutAccount, false],
  ['flowId missing', withoutFlow, false],
  ['webhookKeys missing', withoutKeys, false],
  ['webhookKeys empty', { ...base, webhookKeys: [] }, false],
  ['webhook key of 7 characters', { ...base, webhookKeys: [key(7)] }, false],
  ['webhook key of 513 characters', { ...base, webhookKeys: [key(513)] }, false],
  ['webhook key with a space', { ...base, webhookKeys: ['wh_with space'] }, false],
  ['webhook key with a tab', { ...base, webhookKeys: ['wh_with\ttab'] }, false],
  ['webhook key with non-ASCII', { ...base, webhookKeys: ['wh_ünïcödé'] }, false],
  ['webhook key a number', { ...base, webhookKeys: [12345678] }, false],
  ['second key invalid', { ...base, webhookKeys: ['wh_valid_key', 'short'] }, false],
  ['duplicate webhook keys', { ...base, webhookKeys: ['wh_same_key', 'wh_other_key', 'wh_same_key'] }, false],
  ['1001 webhook keys', { ...base, webhookKeys: keys(1001) }, false],
  ['webhookKeys a string', { ...base, webhookKeys: 'wh_7f3c9a1e2b4d' }, false],
  ['webhookKeys an object', { ...base, webhookKeys: { 0: 'wh_7f3c9a1e2b4d' } }, false],
  ['set with data null', { ...base, data: null }, false],
  ['set (op absent) without data', withoutData, false],
  ['op "set" without data', { ...withoutData, op: 'set' }, false],
  ['delete with data', { ...base, op: 'delete' }, false],
  ['delete with data null', { ...withoutData, op: 'delete', data: null }, false],
  ['version -1', { ...base, version: -1 }, false],
  ['version 1.5', { ...base, version: 1.5 }, false],
  ['version 2^53', { ...base, version: 2 ** 53 }, false],
  ['version a numeric string', { ...base, version: '1' }, false],
  ['version null', { ...base, version: null }, false],
  ['op "SET" (case matters)', { ...base, op: 'SET' }, false],
  ['op "upsert"', { ...base, op: 'upsert' }, false],
  ['op null', { ...base, op: null }, false],
  ['op a number', { ...base, op: 1 }, false],
  ['an unknown field', { ...base, extra: true }, false],
  ['an unknown field on a delete', { ...withoutData, op: 'delete', ttl: 60 }, false],
  ['a "__proto__" field', JSON.parse(`{${minimalJson},"__proto__":{}}`), false],
  ['body null', null, false],
  ['body an array', [base], false],
  ['body a string', JSON.stringify(base), false],
  ['body a number', 42, false],
  ['body true', true, false],
  ['body an empty object', {}, false],
];

describe('generated request schema vs the service validator', () => {
  let validate: ValidateFunction;

  beforeAll(async () => {
    // Unknown keywords still fail (strictSchema, on by default); strictTypes is off because draft-4 schemas
    // legitimately put `properties`/`required` in anyOf branches without a `type`.
    const ajv = new Ajv({ strictSchema: true, strictTypes: false });
    validate = ajv.compile(await recordMessageJsonSchema());
  });

  it('has a corpus of at least 40 messages, valid and invalid', () => {
    expect(VALID.length + INVALID.length).toBeGreaterThanOrEqual(40);
    expect(VALID.length).toBeGreaterThanOrEqual(15);
    expect(INVALID.length).toBeGreaterThanOrEqual(25);
  });

  it.each([...VALID, ...INVALID])('%s: both validators answer valid=%p', (_name, body, valid) => {
    const service = validateRecordMessage({ text: JSON.stringify(body), value: body }).valid;
    const schema = validate(body);
    expect({ service, schema }).toEqual({ service: valid, schema: valid });
  });
});

/**
 * A test-only MongoDB server: speaks the real wire protocol over TCP (OP_QUERY handshake, OP_MSG afterwards) so the
 * unmodified mongoose/mongodb driver connects to it, and keeps every database in memory. Queries, projections,
 * update operators and aggregation stages are evaluated by `mingo`; lookups by `_id` and unique-index checks are hash
 * maps keyed by a canonical string of the value, so bulk upserts by `_id` stay O(1) each.
 *
 * Only the commands in `execute` exist; anything else is answered with the real CommandNotFound error (59).
 * Never imported by production code.
 */
import { createServer, Server, Socket } from 'node:net';
import { Binary, BSON, EJSON, Long, ObjectId, UUID } from 'bson';
import { Aggregator, Query, update as mingoUpdate, updateOne as mingoUpdateOne } from 'mingo';

/** A BSON document as this server handles it: values are whatever `bson` deserializes with its defaults. */
export type Doc = Record<string, unknown>;
type MingoCriteria = ConstructorParameters<typeof Query>[0];
type MingoModifier = Parameters<typeof mingoUpdate>[1];

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;
const FLAG_CHECKSUM_PRESENT = 1;
const FLAG_MORE_TO_COME = 2;
const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;
const MAX_MESSAGE_SIZE = 48_000_000;
const MAX_WRITE_BATCH_SIZE = 100_000;
/** Cursor batches stop growing past this many bytes so a reply always fits in one message. */
const MAX_BATCH_BYTES = MAX_BSON_OBJECT_SIZE - 64 * 1024;
const DEFAULT_FIRST_BATCH = 101;
const SERVER_VERSION = '7.0.0';
/** MongoDB 7.0's wire version; the 7.x driver accepts 9 (4.4) up to 29. */
const MAX_WIRE_VERSION = 21;
const ID_INDEX = { v: 2, key: { _id: 1 }, name: '_id_' };

/** Fields the driver adds to every command that carry no meaning for an in-memory standalone server. */
const IGNORED_COMMAND_FIELDS = new Set([
  '$db',
  'lsid',
  'txnNumber',
  '$clusterTime',
  'readConcern',
  'writeConcern',
  'apiVersion',
  'apiStrict',
  'apiDeprecationErrors',
  'comment',
  'maxTimeMS',
  '$readPreference',
  'autocommit',
  'startTransaction',
]);
const UPDATE_OPERATORS = new Set([
  '$set',
  '$unset',
  '$inc',
  '$push',
  '$addToSet',
  '$setOnInsert',
  '$pull',
  '$pullAll',
  '$pop',
  '$min',
  '$max',
  '$mul',
  '$rename',
  '$currentDate',
  '$bit',
]);
/** Pipeline stages that never write into their input documents, so stored documents can be fed to mingo as they are. */
const NON_MUTATING_STAGES = new Set(['$match', '$group', '$sort', '$limit', '$skip', '$project', '$count']);

/** A command failure with a real MongoDB error code; becomes `{ok: 0, ...}` or a `writeErrors` entry. */
export class CommandError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
    readonly extra: Doc = {},
  ) {
    super(message);
  }
}

const namespaceNotFound = (message: string) => new CommandError(26, 'NamespaceNotFound', message);
const badValue = (message: string) => new CommandError(2, 'BadValue', message);
const typeMismatch = (message: string) => new CommandError(14, 'TypeMismatch', message);

// ---------------------------------------------------------------------------------------------------------------------
// Values: type checks, canonical keys, equality, deep copies
// ---------------------------------------------------------------------------------------------------------------------

function isPlainObject(value: unknown): value is Doc {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function bsonTypeOf(value: object): string | undefined {
  const tag: unknown = (value as { _bsontype?: unknown })._bsontype;
  return typeof tag === 'string' ? tag : undefined;
}

const hasOperatorKey = (value: Doc) => Object.keys(value).some((key) => key.startsWith('$'));

/**
 * An injective string for a BSON value, equal for values MongoDB considers equal for `_id`/unique-index purposes
 * (numbers of any width compare by value; embedded documents by fields in order). Composite parts quote strings.
 */
function canonical(value: unknown): string {
  if (value === null || value === undefined) return 'z';
  switch (typeof value) {
    case 'string':
      return `s${JSON.stringify(value)}`;
    case 'number':
      return `n${Object.is(value, -0) ? 0 : value}`;
    case 'boolean':
      return value ? 'b1' : 'b0';
    case 'bigint':
      return `n${value.toString()}`;
    case 'object':
      break;
    default:
      // symbols and functions: never in a BSON document
      return `?${typeof value}`;
  }
  if (Array.isArray(value)) return `a[${value.map(canonical).join(',')}]`;
  if (value instanceof Date) return `d${value.getTime()}`;
  if (value instanceof RegExp) return `r${String(value)}`;
  if (isPlainObject(value)) {
    return `o{${Object.keys(value)
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(',')}}`;
  }
  switch (bsonTypeOf(value)) {
    case 'ObjectId':
      return `i${(value as ObjectId).toHexString()}`;
    case 'Long':
      return `n${(value as Long).toString()}`;
    case 'Int32':
    case 'Double':
      return `n${Number(value)}`;
    case 'Binary':
      return `x${(value as Binary).sub_type}:${Buffer.from((value as Binary).buffer).toString('base64')}`;
    default:
      return `?${EJSON.stringify(value, { relaxed: false })}`;
  }
}

/** The map key of a value at the top level: strings (the common `_id`) skip the quoting. */
function keyOf(value: unknown): string {
  return typeof value === 'string' ? `s${value}` : canonical(value);
}

/**
 * Equality as MongoDB compares values. Strings (bodies of up to MAX_MESSAGE_BYTES in the archive's `$set`s) and Dates
 * are compared directly: building the canonical string of each would be a copy per comparison no database makes.
 */
function bsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'string' || typeof b === 'string') return false;
  if (a instanceof Date && b instanceof Date) return Object.is(a.getTime(), b.getTime());
  return canonical(a) === canonical(b);
}

/** Deep copy that keeps BSON classes intact (ObjectId, Long, … are immutable and shared; Binary and Date are copied). */
function cloneValue<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(cloneValue) as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (isPlainObject(value)) return cloneDoc(value) as T;
  if (value instanceof RegExp) return new RegExp(value.source, value.flags) as T;
  if (value instanceof Binary) {
    return new Binary(Uint8Array.from(value.buffer.subarray(0, value.position)), value.sub_type) as T;
  }
  if (value instanceof Uint8Array) return Uint8Array.from(value) as T;
  return value;
}

function cloneDoc(doc: Doc): Doc {
  const out: Doc = {};
  for (const key of Object.keys(doc)) {
    const value = cloneValue(doc[key]);
    // A field may be called __proto__; plain assignment would set the prototype instead.
    if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true });
    else out[key] = value;
  }
  return out;
}

/** The document with `_id` as its first field, as MongoDB stores it. */
function idFirst(doc: Doc): Doc {
  if (Object.keys(doc)[0] === '_id') return doc;
  const { _id, ...rest } = doc;
  return { _id, ...rest };
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'date';
  if (typeof value === 'object') return isPlainObject(value) ? 'object' : (bsonTypeOf(value) ?? 'object');
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) < 2 ** 31 ? 'int' : 'double';
  return typeof value === 'boolean' ? 'bool' : typeof value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return EJSON.stringify(value, { relaxed: true });
  } catch {
    return String(value);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Command argument validation
// ---------------------------------------------------------------------------------------------------------------------

function optionalDoc(cmd: Doc, field: string): Doc | undefined {
  const value = cmd[field];
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) {
    throw typeMismatch(`BSON field '${field}' is the wrong type '${typeName(value)}', expected type 'object'`);
  }
  return value;
}

function requiredDocs(cmd: Doc, field: string): Doc[] {
  const value = cmd[field];
  if (!Array.isArray(value)) {
    throw typeMismatch(
      `BSON field '${field}' is missing or the wrong type '${typeName(value)}', expected type 'array'`,
    );
  }
  for (const item of value) {
    if (!isPlainObject(item)) {
      throw typeMismatch(`BSON field '${field}' must contain only objects, found '${typeName(item)}'`);
    }
  }
  return value as Doc[];
}

function optionalNumber(cmd: Doc, field: string): number | undefined {
  const value = cmd[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return value;
  if (value instanceof Long) return value.toNumber();
  throw typeMismatch(`BSON field '${field}' is the wrong type '${typeName(value)}', expected a number`);
}

function collectionName(cmd: Doc, command: string): string {
  const name = cmd[command];
  if (typeof name !== 'string' || name.length === 0) {
    throw new CommandError(73, 'InvalidNamespace', `collection name has invalid type ${typeName(name)}`);
  }
  if (name.includes('\0') || name.startsWith('.') || name.includes('$')) {
    throw new CommandError(73, 'InvalidNamespace', `Invalid collection name: ${name}`);
  }
  return name;
}

// ---------------------------------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------------------------------

/** Every value a dotted path reaches, descending through arrays and expanding a final array (multikey semantics). */
function pathValues(value: unknown, segments: string[], index: number, out: unknown[]): void {
  if (index === segments.length) {
    if (Array.isArray(value)) {
      if (value.length === 0) out.push(undefined);
      else out.push(...value);
    } else out.push(value);
    return;
  }
  if (Array.isArray(value)) {
    const before = out.length;
    for (const element of value) if (isPlainObject(element)) pathValues(element, segments, index, out);
    if (out.length === before) out.push(undefined);
    return;
  }
  if (isPlainObject(value)) pathValues(value[segments[index]], segments, index + 1, out);
  else out.push(undefined);
}

function setPath(doc: Doc, path: string, value: unknown): void {
  const segments = path.split('.');
  let parent = doc;
  for (let i = 0; i < segments.length - 1; i++) {
    const next = parent[segments[i]];
    if (next === undefined) {
      const created: Doc = {};
      parent[segments[i]] = created;
      parent = created;
    } else if (isPlainObject(next)) parent = next;
    else return;
  }
  parent[segments[segments.length - 1]] = value;
}

/** The fields an upsert seeds its new document with: the equality conditions of the query. */
function seedFromQuery(query: Doc, out: Doc): Doc {
  for (const [key, value] of Object.entries(query)) {
    if (key === '$and' && Array.isArray(value)) {
      for (const clause of value) if (isPlainObject(clause)) seedFromQuery(clause, out);
    } else if (key.startsWith('$') || value instanceof RegExp) {
      continue;
    } else if (isPlainObject(value) && hasOperatorKey(value)) {
      if ('$eq' in value) setPath(out, key, cloneValue(value.$eq));
    } else {
      setPath(out, key, cloneValue(value));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------------------------------------------------

interface IndexSpec extends Doc {
  v: number;
  key: Doc;
  name: string;
  unique?: boolean;
}

/** A unique index: canonical key of the indexed values → map key of the owning document's `_id`. */
class UniqueIndex {
  readonly fields: string[];
  readonly segments: string[][];
  readonly entries = new Map<string, string>();
  private readonly partial: Query | null;

  constructor(
    readonly spec: IndexSpec,
    readonly ns: string,
  ) {
    this.fields = Object.keys(spec.key);
    this.segments = this.fields.map((field) => field.split('.'));
    const partial = spec.partialFilterExpression;
    this.partial = isPlainObject(partial) ? compileQuery(partial) : null;
  }

  /** The index keys of a document (several for a multikey array), each with the values it was built from. */
  keys(doc: Doc): Map<string, unknown[]> {
    const result = new Map<string, unknown[]>();
    if (this.partial && !this.partial.test(doc)) return result;
    const perField = this.segments.map((segments) => {
      const values: unknown[] = [];
      pathValues(doc, segments, 0, values);
      return values;
    });
    if (this.spec.sparse === true && perField.every((values) => values.every((value) => value === undefined)))
      return result;
    let combos: unknown[][] = [[]];
    for (const values of perField) combos = combos.flatMap((combo) => values.map((value) => [...combo, value]));
    for (const combo of combos) {
      const key = combo.length === 1 ? keyOf(combo[0] ?? null) : canonical(combo.map((value) => value ?? null));
      result.set(key, combo);
    }
    return result;
  }

  duplicate(values: unknown[]): CommandError {
    const keyValue: Doc = {};
    this.fields.forEach((field, i) => (keyValue[field] = values[i] ?? null));
    const shown = this.fields.map((field, i) => `${field}: ${describe(values[i] ?? null)}`).join(', ');
    const message = `E11000 duplicate key error collection: ${this.ns} index: ${this.spec.name} dup key: { ${shown} }`;
    return new CommandError(11000, 'DuplicateKey', message, { keyPattern: cloneDoc(this.spec.key), keyValue });
  }
}

class Collection {
  /** Documents by `keyOf(_id)`, in insertion (natural) order. Stored documents are never mutated in place. */
  readonly docs = new Map<string, Doc>();
  readonly indexes = new Map<string, IndexSpec>([['_id_', cloneDoc(ID_INDEX) as IndexSpec]]);
  readonly uniques: UniqueIndex[] = [];
  readonly uuid = new UUID();

  constructor(
    readonly db: string,
    readonly name: string,
    readonly options: Doc,
  ) {}

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  duplicateId(id: unknown): CommandError {
    const message = `E11000 duplicate key error collection: ${this.ns} index: _id_ dup key: { _id: ${describe(id)} }`;
    return new CommandError(11000, 'DuplicateKey', message, { keyPattern: { _id: 1 }, keyValue: { _id: id } });
  }

  insert(doc: Doc): void {
    const id = keyOf(doc._id);
    if (this.docs.has(id)) throw this.duplicateId(doc._id);
    const keys = this.uniques.map((index) => index.keys(doc));
    this.uniques.forEach((index, i) => {
      for (const [key, values] of keys[i]) if (index.entries.has(key)) throw index.duplicate(values);
    });
    this.uniques.forEach((index, i) => {
      for (const key of keys[i].keys()) index.entries.set(key, id);
    });
    this.docs.set(id, doc);
  }

  /** Swaps the stored document under `id` for `next` (same `_id`), keeping unique indexes consistent. */
  replace(id: string, previous: Doc, next: Doc): void {
    if (this.uniques.length > 0) {
      const before = this.uniques.map((index) => index.keys(previous));
      const after = this.uniques.map((index) => index.keys(next));
      this.uniques.forEach((index, i) => {
        for (const [key, values] of after[i]) {
          const owner = index.entries.get(key);
          if (owner !== undefined && owner !== id) throw index.duplicate(values);
        }
      });
      this.uniques.forEach((index, i) => {
        for (const key of before[i].keys()) {
          if (!after[i].has(key) && index.entries.get(key) === id) index.entries.delete(key);
        }
        for (const key of after[i].keys()) index.entries.set(key, id);
      });
    }
    this.docs.set(id, next);
  }

  remove(id: string, doc: Doc): void {
    for (const index of this.uniques) {
      for (const key of index.keys(doc).keys()) if (index.entries.get(key) === id) index.entries.delete(key);
    }
    this.docs.delete(id);
  }

  addUniqueIndex(spec: IndexSpec): void {
    const index = new UniqueIndex(spec, this.ns);
    for (const [id, doc] of this.docs) {
      for (const [key, values] of index.keys(doc)) {
        const owner = index.entries.get(key);
        if (owner !== undefined && owner !== id) throw index.duplicate(values);
        index.entries.set(key, id);
      }
    }
    this.uniques.push(index);
  }
}

interface OpenCursor {
  readonly id: number;
  readonly ns: string;
  readonly docs: Doc[];
  position: number;
}

/** The `_id` map keys a filter restricts itself to, when its `_id` condition is an equality or a `$in` of values. */
function idCandidates(filter: Doc): string[] | null {
  if (!('_id' in filter)) return null;
  const condition = filter._id;
  const usable = (value: unknown) =>
    !(value instanceof RegExp) && !Array.isArray(value) && !(isPlainObject(value) && hasOperatorKey(value));
  if (isPlainObject(condition) && hasOperatorKey(condition)) {
    const operators = Object.keys(condition);
    if (operators.length !== 1) return null;
    if (operators[0] === '$eq' && usable(condition.$eq)) return [keyOf(condition.$eq)];
    if (operators[0] === '$in' && Array.isArray(condition.$in) && condition.$in.every(usable)) {
      return [...new Set(condition.$in.map(keyOf))];
    }
    return null;
  }
  return usable(condition) ? [keyOf(condition)] : null;
}

function compileQuery(filter: Doc): Query {
  try {
    return new Query(filter);
  } catch (error) {
    throw badValue(error instanceof Error ? error.message : String(error));
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Updates
// ---------------------------------------------------------------------------------------------------------------------

interface UpdateContext {
  readonly inserting: boolean;
  readonly arrayFilters: Doc[] | undefined;
  readonly query: Doc;
}

function immutableId(): CommandError {
  const message = "Performing an update on the path '_id' would modify the immutable field '_id'";
  return new CommandError(66, 'ImmutableField', message);
}

/** Every path an operator update touches must be disjoint from the others (no path equal to or inside another). */
function checkConflicts(update: Doc): void {
  const paths: string[] = [];
  for (const [operator, fields] of Object.entries(update)) {
    paths.push(...Object.keys(fields as Doc));
    if (operator === '$rename') {
      paths.push(...Object.values(fields as Doc).filter((target): target is string => typeof target === 'string'));
    }
  }
  if (paths.length < 2) return;
  const seen = new Set<string>();
  for (const path of paths) {
    if (seen.has(path)) throw conflict(path, path);
    seen.add(path);
  }
  for (const path of paths) {
    for (let dot = path.indexOf('.'); dot >= 0; dot = path.indexOf('.', dot + 1)) {
      if (seen.has(path.slice(0, dot))) throw conflict(path, path.slice(0, dot));
    }
  }
}

function conflict(path: string, at: string): CommandError {
  const message = `Updating the path '${path}' would create a conflict at '${at}'`;
  return new CommandError(40, 'ConflictingUpdateOperators', message);
}

const CREATING_OPERATORS = new Set([
  '$set',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$push',
  '$addToSet',
  '$currentDate',
  '$bit',
]);
const NUMERIC_BSON_TYPES = new Set(['Long', 'Int32', 'Double', 'Decimal128']);
const isNumeric = (value: unknown) =>
  typeof value === 'number' ||
  (typeof value === 'object' && value !== null && NUMERIC_BSON_TYPES.has(bsonTypeOf(value) ?? ''));

/**
 * Where a path leads in a document: the container holding its last field (`parent`, undefined when the path does not
 * exist yet and would be created), or the non-container value that blocks it (`blockedBy`, with the field that cannot
 * be created in it). Positional segments (`$`, `$[]`, `$[id]`) are left to mingo.
 */
interface ResolvedPath {
  parent?: Doc | unknown[];
  blockedBy?: { field: string; holder: string; value: unknown };
}

function resolvePath(doc: Doc, segments: string[]): ResolvedPath {
  let current: unknown = doc;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    let next: unknown;
    if (isPlainObject(current)) next = current[segment];
    else if (Array.isArray(current) && /^\d+$/.test(segment)) next = current[Number(segment)];
    else return { blockedBy: { field: segment, holder: segments[i - 1], value: current } };
    if (i === segments.length - 1) return { parent: current };
    if (next === undefined) return {};
    current = next;
  }
  return {};
}

/** The errors MongoDB raises where mingo would silently do nothing: paths through scalars, arithmetic on non-numbers… */
function validateTargets(doc: Doc, modifier: Doc): void {
  const idText = () => `{_id: ${describe(doc._id)}}`;
  for (const [operator, fields] of Object.entries(modifier)) {
    for (const [path, argument] of Object.entries(fields as Doc)) {
      const segments = path.split('.');
      if (segments.some((segment) => segment.startsWith('$'))) continue;
      const { parent, blockedBy } = resolvePath(doc, segments);
      if (blockedBy) {
        if (!CREATING_OPERATORS.has(operator)) continue;
        throw new CommandError(
          28,
          'PathNotViable',
          `Cannot create field '${blockedBy.field}' in element {${blockedBy.holder}: ${describe(blockedBy.value)}}`,
        );
      }
      const last = segments[segments.length - 1];
      const target = parent === undefined ? undefined : Array.isArray(parent) ? parent[Number(last)] : parent[last];
      if (operator === '$inc' || operator === '$mul') {
        if (!isNumeric(argument)) {
          const verb = operator === '$inc' ? 'increment' : 'multiply';
          throw typeMismatch(`Cannot ${verb} with non-numeric argument: {${path}: ${describe(argument)}}`);
        }
        if (target !== undefined && !isNumeric(target)) {
          throw typeMismatch(
            `Cannot apply ${operator} to a value of non-numeric type. ` +
              `${idText()} has the field '${last}' of non-numeric type ${typeName(target)}`,
          );
        }
      } else if ((operator === '$push' || operator === '$addToSet') && target !== undefined && !Array.isArray(target)) {
        throw badValue(
          `The field '${path}' must be an array but is of type ${typeName(target)} in document ${idText()}`,
        );
      } else if ((operator === '$pull' || operator === '$pullAll') && target !== undefined && !Array.isArray(target)) {
        throw badValue(`Cannot apply ${operator} to a non-array value`);
      } else if (operator === '$pop' && target !== undefined && !Array.isArray(target)) {
        throw typeMismatch(`Path '${path}' contains an element of non-array type '${typeName(target)}'`);
      }
    }
  }
}

const FAST_OPERATORS = new Set(['$set', '$unset', '$inc', '$max', '$min']);

/**
 * Two values `$max`/`$min` can order with JavaScript's `<`: numbers (not NaN, which BSON orders below every number)
 * or Dates, both of the same kind; `current` may be missing (the operator then sets the field). Anything else (mixed
 * BSON types, ordered by type first) goes to mingo.
 */
function plainlyOrdered(value: unknown, current: unknown): boolean {
  if (typeof value === 'number') {
    return !Number.isNaN(value) && (current === undefined || (typeof current === 'number' && !Number.isNaN(current)));
  }
  return (
    value instanceof Date &&
    !Number.isNaN(value.getTime()) &&
    (current === undefined || (current instanceof Date && !Number.isNaN(current.getTime())))
  );
}

/**
 * `$set`, `$unset`, `$inc`, and `$max`/`$min` of numbers and Dates, over plain nested objects, done directly: a real
 * MongoDB applies each of them in place at about the cost of a `$set`, where mingo's per-call setup is ~80 µs (the
 * archive's drain sends a `$max` with every datum).
 */
function fastPathApplies(doc: Doc, modifier: Doc): boolean {
  for (const [operator, fields] of Object.entries(modifier)) {
    if (!FAST_OPERATORS.has(operator)) return false;
    for (const [path, value] of Object.entries(fields as Doc)) {
      const segments = path.split('.');
      let parent: unknown = doc;
      for (let i = 0; i < segments.length; i++) {
        const segment = segments[i];
        if (segment === '' || segment.startsWith('$') || segment === '__proto__') return false;
        if (parent === undefined) {
          if (i === segments.length - 1 && (operator === '$max' || operator === '$min')) {
            if (!plainlyOrdered(value, undefined)) return false;
          }
          continue;
        }
        if (!isPlainObject(parent)) return false;
        const next = parent[segment];
        const last = i === segments.length - 1;
        const plainNumbers = typeof value === 'number' && (next === undefined || typeof next === 'number');
        if (last && operator === '$inc' && !plainNumbers) return false;
        if (last && (operator === '$max' || operator === '$min') && !plainlyOrdered(value, next)) return false;
        parent = next;
      }
    }
  }
  return true;
}

function applyFast(doc: Doc, modifier: Doc): boolean {
  let modified = false;
  for (const [operator, fields] of Object.entries(modifier)) {
    for (const [path, value] of Object.entries(fields as Doc)) {
      const segments = path.split('.');
      const last = segments[segments.length - 1];
      let parent: Doc | undefined = doc;
      for (let i = 0; i < segments.length - 1 && parent; i++) {
        let next = parent[segments[i]];
        if (next === undefined && operator !== '$unset') {
          next = {};
          parent[segments[i]] = next;
        }
        parent = next as Doc | undefined;
      }
      if (!parent) continue;
      if (operator === '$set') {
        if (!Object.hasOwn(parent, last) || !bsonEqual(parent[last], value)) {
          parent[last] = cloneValue(value);
          modified = true;
        }
      } else if (operator === '$unset') {
        if (Object.hasOwn(parent, last)) {
          delete parent[last];
          modified = true;
        }
      } else if (operator === '$max' || operator === '$min') {
        // Both numbers or both Dates (fastPathApplies): they order as their numbers do.
        const current = parent[last] as number | Date | undefined;
        const replaces =
          current === undefined ||
          (operator === '$max' ? Number(current) < Number(value) : Number(value) < Number(current));
        if (replaces) {
          parent[last] = cloneValue(value);
          modified = true;
        }
      } else {
        const current = parent[last];
        if (current === undefined || value !== 0) {
          parent[last] = ((current as number | undefined) ?? 0) + (value as number);
          modified = true;
        }
      }
    }
  }
  return modified;
}

/** Applies an operator update to `doc` in place; returns whether anything changed. */
function applyOperators(doc: Doc, update: Doc, context: UpdateContext): boolean {
  for (const [operator, fields] of Object.entries(update)) {
    if (!UPDATE_OPERATORS.has(operator)) {
      throw new CommandError(
        9,
        'FailedToParse',
        `Unknown modifier: ${operator}. Expected a valid update modifier or pipeline-style update specified as an array`,
      );
    }
    if (!isPlainObject(fields)) {
      throw new CommandError(
        9,
        'FailedToParse',
        `Modifiers operate on fields but we found type ${typeName(fields)} instead. ` +
          `For example: {$mod: {<field>: ...}} not {${operator}: ${describe(fields)}}`,
      );
    }
  }
  checkConflicts(update);
  const modifier: Doc = {};
  for (const [operator, fields] of Object.entries(update)) {
    if (operator === '$setOnInsert') {
      if (context.inserting) modifier.$set = { ...(modifier.$set ?? {}), ...(fields as Doc) };
    } else if (operator === '$set') {
      modifier.$set = { ...(modifier.$set ?? {}), ...(fields as Doc) };
    } else {
      modifier[operator] = fields;
    }
  }
  // `_id` never changes; setting it to its current value is allowed (and dropped), and an upsert may choose it.
  for (const [operator, fields] of Object.entries(modifier)) {
    const paths = Object.keys(fields as Doc);
    const touchesId = paths.some((path) => path === '_id' || path.startsWith('_id.'));
    if (!touchesId || (context.inserting && doc._id === undefined)) continue;
    const { _id: value, ...rest } = fields as Doc;
    if (operator !== '$set' || paths.some((path) => path.startsWith('_id.')) || !bsonEqual(value, doc._id)) {
      throw immutableId();
    }
    modifier[operator] = rest;
  }
  validateTargets(doc, modifier);
  if (fastPathApplies(doc, modifier)) return applyFast(doc, modifier);
  try {
    return mingoUpdate(doc, modifier as MingoModifier, context.arrayFilters, context.query as MingoCriteria).length > 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message.includes('immutable field')) throw immutableId();
    throw badValue(message);
  }
}

function applyPipeline(doc: Doc, pipeline: Doc[]): Doc {
  const documents = [doc];
  try {
    mingoUpdateOne(documents, {}, pipeline as Parameters<typeof mingoUpdateOne>[2]);
  } catch (error) {
    throw badValue(error instanceof Error ? error.message : String(error));
  }
  return documents[0];
}

/**
 * The document an update statement turns `previous` into (always a fresh object; `previous` is untouched) and whether
 * it differs from `previous`. When inserting, `previous` is the seed built from the query.
 */
function updatedDocument(previous: Doc, update: Doc | Doc[], context: UpdateContext): [Doc, boolean] {
  if (Array.isArray(update)) {
    const next = applyPipeline(cloneDoc(previous), update);
    if (!context.inserting && !bsonEqual(next._id, previous._id)) throw immutableId();
    return [next, !bsonEqual(next, previous)];
  }
  const keys = Object.keys(update);
  if (keys.length > 0 && keys[0].startsWith('$')) {
    const next = cloneDoc(previous);
    return [next, applyOperators(next, update, context)];
  }
  const dollar = keys.find((key) => key.startsWith('$'));
  if (dollar) {
    throw new CommandError(
      52,
      'DollarPrefixedFieldName',
      `The dollar ($) prefixed field '${dollar}' in '${dollar}' is not allowed ` +
        "in the context of an update's replacement document.",
    );
  }
  const replacement = cloneDoc(update);
  if (replacement._id !== undefined && previous._id !== undefined && !bsonEqual(replacement._id, previous._id)) {
    throw new CommandError(
      66,
      'ImmutableField',
      "After applying the update, the (immutable) field '_id' was found to have been altered to " +
        `_id: ${describe(replacement._id)}`,
    );
  }
  const keepsId = replacement._id === undefined && previous._id !== undefined;
  const next = keepsId ? { _id: previous._id, ...replacement } : replacement;
  return [next, !bsonEqual(next, previous)];
}

// ---------------------------------------------------------------------------------------------------------------------
// Wire protocol
// ---------------------------------------------------------------------------------------------------------------------

/** Reassembles whole messages out of TCP chunks (a chunk may hold part of a message, or several). */
class FrameReader {
  private chunks: Buffer[] = [];
  private length = 0;

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.length += chunk.length;
    const frames: Buffer[] = [];
    while (this.length >= 4) {
      const head = this.chunks[0].length >= 4 ? this.chunks[0] : this.flatten();
      const size = head.readInt32LE(0);
      if (size < 16 || size > MAX_MESSAGE_SIZE) throw new Error(`invalid message length ${size}`);
      if (this.length < size) break;
      const all = this.flatten();
      frames.push(all.subarray(0, size));
      const rest = all.subarray(size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.length = rest.length;
    }
    return frames;
  }

  private flatten(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.length)];
    return this.chunks[0];
  }
}

function readCString(buffer: Buffer, offset: number): [string, number] {
  const end = buffer.indexOf(0, offset);
  if (end < 0) throw new Error('unterminated cstring');
  return [buffer.toString('utf8', offset, end), end + 1];
}

function deserialize(buffer: Buffer, offset: number): [Doc, number] {
  const size = buffer.readInt32LE(offset);
  if (size < 5 || offset + size > buffer.length) throw new Error('BSON document overruns its message');
  return [BSON.deserialize(buffer.subarray(offset, offset + size)), offset + size];
}

interface ParsedMessage {
  readonly requestId: number;
  readonly opCode: number;
  readonly db: string;
  readonly command: Doc;
  readonly moreToCome: boolean;
}

function parseMessage(frame: Buffer): ParsedMessage {
  const requestId = frame.readInt32LE(4);
  const opCode = frame.readInt32LE(12);
  if (opCode === OP_QUERY) {
    const [ns, afterNs] = readCString(frame, 20);
    const [query] = deserialize(frame, afterNs + 8);
    const command = isPlainObject(query.$query) ? query.$query : query;
    const dot = ns.indexOf('.');
    return { requestId, opCode, db: dot < 0 ? ns : ns.slice(0, dot), command, moreToCome: false };
  }
  if (opCode !== OP_MSG) throw new Error(`unsupported opCode ${opCode}`);
  const flags = frame.readUInt32LE(16);
  const end = frame.length - (flags & FLAG_CHECKSUM_PRESENT ? 4 : 0);
  let offset = 20;
  let body: Doc | null = null;
  const sequences: [string, Doc[]][] = [];
  while (offset < end) {
    const kind = frame[offset++];
    if (kind === 0) {
      [body, offset] = deserialize(frame, offset);
    } else if (kind === 1) {
      const sectionEnd = offset + frame.readInt32LE(offset);
      const [identifier, start] = readCString(frame, offset + 4);
      let cursor = start;
      const documents: Doc[] = [];
      while (cursor < sectionEnd) {
        let document: Doc;
        [document, cursor] = deserialize(frame, cursor);
        documents.push(document);
      }
      sequences.push([identifier, documents]);
      offset = sectionEnd;
    } else {
      throw new Error(`unknown OP_MSG section kind ${kind}`);
    }
  }
  if (!body) throw new Error('OP_MSG without a body section');
  for (const [identifier, documents] of sequences) {
    const existing = body[identifier];
    body[identifier] = Array.isArray(existing) ? [...(existing as unknown[]), ...documents] : documents;
  }
  const db = typeof body.$db === 'string' ? body.$db : '';
  return { requestId, opCode, db, command: body, moreToCome: (flags & FLAG_MORE_TO_COME) !== 0 };
}

let lastResponseId = 0;
const nextResponseId = () => (lastResponseId = (lastResponseId + 1) & 0x7fffffff);

function encodeReply(opCode: number, responseTo: number, doc: Doc): Buffer {
  const body = BSON.serialize(doc);
  const prefixLength = opCode === OP_MSG ? 21 : 36;
  const prefix = Buffer.alloc(prefixLength);
  prefix.writeInt32LE(prefixLength + body.length, 0);
  prefix.writeInt32LE(nextResponseId(), 4);
  prefix.writeInt32LE(responseTo, 8);
  if (opCode === OP_MSG) {
    prefix.writeInt32LE(OP_MSG, 12);
    prefix.writeUInt32LE(0, 16); // flagBits
    prefix[20] = 0; // section kind 0
  } else {
    prefix.writeInt32LE(OP_REPLY, 12);
    // responseFlags (16), cursorID (20..27) and startingFrom (28) stay 0
    prefix.writeInt32LE(1, 32); // numberReturned
  }
  return Buffer.concat([prefix, body]);
}

// ---------------------------------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------------------------------

export interface MongoWireServerOptions {
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
}

export class MongoWireServer {
  private readonly databases = new Map<string, Map<string, Collection>>();
  private readonly cursors = new Map<number, OpenCursor>();
  private readonly sockets = new Set<Socket>();
  private readonly counts = new Map<string, number>();
  private lastCursorId = 0;
  private lastConnectionId = 0;
  private refusing = false;
  private stopped: Promise<void> | null = null;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  static start(options: MongoWireServerOptions = {}): Promise<MongoWireServer> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        const address = server.address();
        if (!address || typeof address === 'string') {
          server.close();
          reject(new Error('MongoWireServer: no TCP address'));
          return;
        }
        resolve(new MongoWireServer(server, address.port));
      });
    });
  }

  /** Connection string for database `test`; `directConnection` keeps the driver from treating it as a replica set. */
  get uri(): string {
    return this.uriFor('test');
  }

  uriFor(db: string): string {
    return `mongodb://127.0.0.1:${this.port}/${db}?directConnection=true`;
  }

  /** Sockets currently open to the server (driver monitor + pool connections). */
  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Destroys every open socket at once, as a crashed or restarted server would. */
  dropAllConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /** While true, every new connection is closed as soon as it is accepted, and the open ones are dropped now. */
  refuseConnections(refuse: boolean): void {
    this.refusing = refuse;
    if (refuse) this.dropAllConnections();
  }

  /** Copies of the documents of a collection in natural order; empty when it does not exist. */
  collection(db: string, name: string): ReadonlyArray<Doc> {
    const collection = this.databases.get(db)?.get(name);
    return collection ? Array.from(collection.docs.values(), cloneDoc) : [];
  }

  /** Copies of the index specifications of a collection (`_id_` first); empty when it does not exist. */
  indexes(db: string, name: string): ReadonlyArray<Doc> {
    const collection = this.databases.get(db)?.get(name);
    return collection ? Array.from(collection.indexes.values(), cloneDoc) : [];
  }

  /** How many times each command name has been received since start, handshakes included. */
  commandCount(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  stop(): Promise<void> {
    this.stopped ??= new Promise((resolve) => {
      this.refusing = true;
      this.dropAllConnections();
      this.server.close(() => resolve());
    });
    return this.stopped;
  }

  private accept(socket: Socket): void {
    if (this.refusing) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const connectionId = ++this.lastConnectionId;
    const reader = new FrameReader();
    socket.on('error', () => undefined); // resets from clients going away are expected; 'close' follows
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('data', (chunk: Buffer) => {
      try {
        const replies: Buffer[] = [];
        for (const frame of reader.push(chunk)) {
          const message = parseMessage(frame);
          const reply = this.runCommand(message.db, message.command, connectionId);
          if (!message.moreToCome) replies.push(encodeReply(message.opCode, message.requestId, reply));
        }
        if (replies.length > 0 && !socket.destroyed) {
          socket.write(replies.length === 1 ? replies[0] : Buffer.concat(replies));
        }
      } catch {
        socket.destroy(); // a malformed message leaves the stream unparseable, exactly as mongod would hang up
      }
    });
  }

  private runCommand(db: string, command: Doc, connectionId: number): Doc {
    const name = Object.keys(command)[0] ?? '';
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    try {
      if (db === '' && !['hello', 'isMaster', 'ismaster'].includes(name)) {
        throw badValue('OP_MSG requests require a $db argument');
      }
      return this.execute(name, db, command, connectionId);
    } catch (error) {
      if (error instanceof CommandError) {
        return { ok: 0, errmsg: error.message, code: error.code, codeName: error.codeName, ...error.extra };
      }
      const errmsg = error instanceof Error ? error.message : String(error);
      return { ok: 0, errmsg, code: 1, codeName: 'InternalError' };
    }
  }

  private execute(name: string, db: string, cmd: Doc, connectionId: number): Doc {
    switch (name) {
      case 'hello':
      case 'isMaster':
      case 'ismaster':
        return this.hello(connectionId);
      case 'ping':
      case 'endSessions':
        return { ok: 1 };
      case 'buildInfo':
      case 'buildinfo':
        return {
          version: SERVER_VERSION,
          gitVersion: 'mongo-wire-server',
          versionArray: [7, 0, 0, 0],
          bits: 64,
          debug: false,
          maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
          storageEngines: ['memory'],
          ok: 1,
        };
      case 'getLastError':
        return { n: 0, err: null, ok: 1 };
      case 'listDatabases':
        return this.listDatabases(cmd);
      case 'create':
        return this.create(db, cmd);
      case 'drop':
        return this.drop(db, cmd);
      case 'dropDatabase':
        this.databases.delete(db);
        return { dropped: db, ok: 1 };
      case 'listCollections':
        return this.listCollections(db, cmd);
      case 'createIndexes':
        return this.createIndexes(db, cmd);
      case 'listIndexes':
        return this.listIndexes(db, cmd);
      case 'insert':
        return this.insert(db, cmd);
      case 'update':
        return this.update(db, cmd);
      case 'delete':
        return this.delete(db, cmd);
      case 'find':
        return this.find(db, cmd);
      case 'getMore':
        return this.getMore(cmd);
      case 'killCursors':
        return this.killCursors(cmd);
      case 'aggregate':
        return this.aggregate(db, cmd);
      case 'count':
        return this.count(db, cmd);
      case 'distinct':
        return this.distinct(db, cmd);
      default:
        throw new CommandError(59, 'CommandNotFound', `no such command: '${name}'`);
    }
  }

  private hello(connectionId: number): Doc {
    return {
      helloOk: true,
      ismaster: true,
      isWritablePrimary: true,
      maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
      maxMessageSizeBytes: MAX_MESSAGE_SIZE,
      maxWriteBatchSize: MAX_WRITE_BATCH_SIZE,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId,
      minWireVersion: 0,
      maxWireVersion: MAX_WIRE_VERSION,
      readOnly: false,
      ok: 1,
    };
  }

  // --- namespaces -----------------------------------------------------------------------------------------------------

  private existing(db: string, name: string): Collection | undefined {
    return this.databases.get(db)?.get(name);
  }

  private collectionFor(db: string, name: string, options: Doc = {}): [Collection, boolean] {
    let collections = this.databases.get(db);
    if (!collections) {
      collections = new Map();
      this.databases.set(db, collections);
    }
    const found = collections.get(name);
    if (found) return [found, false];
    const created = new Collection(db, name, options);
    collections.set(name, created);
    return [created, true];
  }

  private listDatabases(cmd: Doc): Doc {
    const filter = optionalDoc(cmd, 'filter');
    let databases: Doc[] = [...this.databases]
      .filter(([, collections]) => collections.size > 0)
      .map(([name]) => (cmd.nameOnly === true ? { name } : { name, sizeOnDisk: 0, empty: false }));
    if (filter) {
      const query = compileQuery(filter);
      databases = databases.filter((entry) => query.test(entry));
    }
    return cmd.nameOnly === true ? { databases, ok: 1 } : { databases, totalSize: 0, totalSizeMb: 0, ok: 1 };
  }

  private create(db: string, cmd: Doc): Doc {
    const name = collectionName(cmd, 'create');
    if ('viewOn' in cmd) throw badValue('views are not supported by the test server');
    if (this.existing(db, name))
      throw new CommandError(48, 'NamespaceExists', `Collection ${db}.${name} already exists.`);
    const options: Doc = {};
    for (const [key, value] of Object.entries(cmd)) {
      if (key !== 'create' && !IGNORED_COMMAND_FIELDS.has(key)) options[key] = cloneValue(value);
    }
    this.collectionFor(db, name, options);
    return { ok: 1 };
  }

  private drop(db: string, cmd: Doc): Doc {
    const name = collectionName(cmd, 'drop');
    const collection = this.existing(db, name);
    if (!collection) throw namespaceNotFound('ns not found');
    this.databases.get(db)?.delete(name);
    return { nIndexesWas: collection.indexes.size, ns: collection.ns, ok: 1 };
  }

  private listCollections(db: string, cmd: Doc): Doc {
    const filter = optionalDoc(cmd, 'filter');
    let entries: Doc[] = [...(this.databases.get(db)?.values() ?? [])].map((collection) =>
      cmd.nameOnly === true
        ? { name: collection.name, type: 'collection' }
        : {
            name: collection.name,
            type: 'collection',
            options: cloneDoc(collection.options),
            info: { readOnly: false, uuid: collection.uuid },
            idIndex: cloneDoc(ID_INDEX),
          },
    );
    if (filter) {
      const query = compileQuery(filter);
      entries = entries.filter((entry) => query.test(entry));
    }
    const batchSize = optionalNumber(optionalDoc(cmd, 'cursor') ?? {}, 'batchSize');
    return this.cursorReply(`${db}.$cmd.listCollections`, entries, batchSize, false);
  }

  private createIndexes(db: string, cmd: Doc): Doc {
    const name = collectionName(cmd, 'createIndexes');
    const specs = requiredDocs(cmd, 'indexes');
    if (specs.length === 0) throw badValue('Must specify at least one index to create');
    const [collection, created] = this.collectionFor(db, name);
    const before = collection.indexes.size;
    for (const raw of specs) {
      if (!isPlainObject(raw.key) || Object.keys(raw.key).length === 0) {
        throw new CommandError(67, 'CannotCreateIndex', "The 'key' field must be a non-empty object");
      }
      if (typeof raw.name !== 'string' || raw.name === '') throw typeMismatch("The 'name' field must be a string");
      const { key, name: indexName, ...options } = cloneDoc(raw);
      const spec: IndexSpec = { v: 2, key: key as Doc, name: indexName as string, ...options };
      const sameName = collection.indexes.get(spec.name);
      if (sameName) {
        if (!bsonEqual(sameName.key, spec.key)) {
          throw new CommandError(
            86,
            'IndexKeySpecsConflict',
            `An existing index has the same name as the requested index but different key: ${describe(sameName)}`,
          );
        }
        if ((sameName.unique === true) !== (spec.unique === true)) {
          throw new CommandError(
            85,
            'IndexOptionsConflict',
            `An existing index has the same name as the requested index but different options: ${describe(sameName)}`,
          );
        }
        continue;
      }
      const sameKey = [...collection.indexes.values()].find((index) => bsonEqual(index.key, spec.key));
      if (sameKey) {
        throw new CommandError(
          85,
          'IndexOptionsConflict',
          `Index already exists with a different name: ${sameKey.name}`,
        );
      }
      if (spec.unique === true && !(spec.name === '_id_')) collection.addUniqueIndex(spec);
      collection.indexes.set(spec.name, spec);
    }
    const after = collection.indexes.size;
    const reply: Doc = {
      numIndexesBefore: before,
      numIndexesAfter: after,
      createdCollectionAutomatically: created,
      ok: 1,
    };
    if (after === before) reply.note = 'all indexes already exist';
    return reply;
  }

  private listIndexes(db: string, cmd: Doc): Doc {
    const name = collectionName(cmd, 'listIndexes');
    const collection = this.existing(db, name);
    if (!collection) throw namespaceNotFound(`ns does not exist: ${db}.${name}`);
    const specs = Array.from(collection.indexes.values(), cloneDoc);
    return this.cursorReply(collection.ns, specs, optionalNumber(optionalDoc(cmd, 'cursor') ?? {}, 'batchSize'), false);
  }

  // --- reads -----------------------------------------------------------------------------------------------------------

  /** Stored documents matching a filter (not copies: callers only read them). `_id` equality/`$in` never scans. */
  private select(collection: Collection | undefined, filter: Doc, limit = Infinity): Doc[] {
    if (!collection || limit <= 0) return [];
    const ids = idCandidates(filter);
    const keys = Object.keys(filter);
    if (ids) {
      const query = keys.length === 1 ? null : compileQuery(filter);
      const out: Doc[] = [];
      for (const id of ids) {
        const doc = collection.docs.get(id);
        if (doc && (!query || query.test(doc))) {
          out.push(doc);
          if (out.length >= limit) break;
        }
      }
      return out;
    }
    if (keys.length === 0) {
      if (limit === Infinity) return [...collection.docs.values()];
      const out: Doc[] = [];
      for (const doc of collection.docs.values()) {
        out.push(doc);
        if (out.length >= limit) break;
      }
      return out;
    }
    const query = compileQuery(filter);
    const out: Doc[] = [];
    for (const doc of collection.docs.values()) {
      if (query.test(doc)) {
        out.push(doc);
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  private find(db: string, cmd: Doc): Doc {
    const name = collectionName(cmd, 'find');
    const filter = optionalDoc(cmd, 'filter') ?? {};
    const sort = optionalDoc(cmd, 'sort');
    const projection = optionalDoc(cmd, 'projection');
    const skip = optionalNumber(cmd, 'skip') ?? 0;
    const rawLimit = optionalNumber(cmd, 'limit') ?? 0;
    const limit = Math.abs(rawLimit);
    if (skip < 0) throw badValue('skip value must be non-negative');
    const naturalOrder = sort && Object.keys(sort).length === 1 && '$natural' in sort ? sort.$natural : undefined;
    const realSort = sort && Object.keys(sort).length > 0 && naturalOrder === undefined ? sort : undefined;
    const canStopEarly = !realSort && naturalOrder === undefined && limit > 0;
    let docs = this.select(this.existing(db, name), filter, canStopEarly ? skip + limit : Infinity);
    if (naturalOrder === -1) docs = [...docs].reverse();
    if (realSort || skip > 0 || limit > 0 || (projection && Object.keys(projection).length > 0)) {
      try {
        const fields = projection && Object.keys(projection).length > 0 ? projection : undefined;
        let cursor = new Query({}).find<Doc>(docs, fields);
        if (realSort) cursor = cursor.sort(realSort);
        if (skip > 0) cursor = cursor.skip(skip);
        if (limit > 0) cursor = cursor.limit(limit);
        docs = cursor.all();
      } catch (error) {
        throw badValue(error instanceof Error ? error.message : String(error));
      }
    }
    const singleBatch = cmd.singleBatch === true || rawLimit < 0;
    return this.cursorReply(`${db}.${name}`, docs, optionalNumber(cmd, 'batchSize'), singleBatch);
  }

  private aggregate(db: string, cmd: Doc): Doc {
    if (cmd.explain === true) throw badValue('explain is not supported by the test server');
    const name = collectionName(cmd, 'aggregate');
    const pipeline = requiredDocs(cmd, 'pipeline');
    const cursorOptions = optionalDoc(cmd, 'cursor');
    if (!cursorOptions) {
      throw new CommandError(
        9,
        'FailedToParse',
        "The 'cursor' option is required, except for aggregate with the explain argument",
      );
    }
    for (const stage of pipeline) {
      const stageName = Object.keys(stage)[0];
      if (Object.keys(stage).length !== 1) {
        throw new CommandError(
          40323,
          'Location40323',
          'A pipeline stage specification object must contain exactly one field.',
        );
      }
      if (stageName === '$out' || stageName === '$merge')
        throw badValue(`${stageName} is not supported by the test server`);
    }
    const collection = this.existing(db, name);
    let stages = pipeline;
    let source: Doc[];
    if (stages.length > 0 && isPlainObject(stages[0].$match)) {
      source = this.select(collection, stages[0].$match);
      stages = stages.slice(1);
    } else {
      source = this.select(collection, {});
    }
    if (!stages.every((stage) => NON_MUTATING_STAGES.has(Object.keys(stage)[0]))) source = source.map(cloneDoc);
    let results = source;
    if (stages.length > 0) {
      try {
        results = new Aggregator(stages).run<Doc>(source);
      } catch (error) {
        throw badValue(error instanceof Error ? error.message : String(error));
      }
    }
    return this.cursorReply(`${db}.${name}`, results, optionalNumber(cursorOptions, 'batchSize'), false);
  }

  private count(db: string, cmd: Doc): Doc {
    const name = collectionName(cmd, 'count');
    const skip = Math.max(0, optionalNumber(cmd, 'skip') ?? 0);
    const limit = Math.abs(optionalNumber(cmd, 'limit') ?? 0);
    let n = Math.max(0, this.select(this.existing(db, name), optionalDoc(cmd, 'query') ?? {}).length - skip);
    if (limit > 0) n = Math.min(n, limit);
    return { n, ok: 1 };
  }

  private distinct(db: string, cmd: Doc): Doc {
    const name = collectionName(cmd, 'distinct');
    if (typeof cmd.key !== 'string') throw typeMismatch("BSON field 'distinct.key' is missing or not a string");
    const segments = cmd.key.split('.');
    const seen = new Map<string, unknown>();
    for (const doc of this.select(this.existing(db, name), optionalDoc(cmd, 'query') ?? {})) {
      const values: unknown[] = [];
      pathValues(doc, segments, 0, values);
      for (const value of values)
        if (value !== undefined && !seen.has(canonical(value))) seen.set(canonical(value), value);
    }
    return { values: [...seen.values()], ok: 1 };
  }

  // --- cursors ---------------------------------------------------------------------------------------------------------

  private takeBatch(cursor: OpenCursor, size: number): Doc[] {
    const batch: Doc[] = [];
    let bytes = 0;
    while (cursor.position < cursor.docs.length && batch.length < size) {
      const doc = cursor.docs[cursor.position];
      const docBytes = BSON.calculateObjectSize(doc);
      if (batch.length > 0 && bytes + docBytes > MAX_BATCH_BYTES) break;
      batch.push(doc);
      bytes += docBytes;
      cursor.position++;
    }
    return batch;
  }

  private cursorReply(ns: string, docs: Doc[], batchSize: number | undefined, singleBatch: boolean): Doc {
    if (batchSize !== undefined && batchSize < 0) throw badValue('batchSize must be non-negative');
    const cursor: OpenCursor = { id: ++this.lastCursorId, ns, docs, position: 0 };
    const firstBatch = this.takeBatch(cursor, singleBatch ? Infinity : (batchSize ?? DEFAULT_FIRST_BATCH));
    const open = !singleBatch && cursor.position < docs.length;
    if (open) this.cursors.set(cursor.id, cursor);
    return { cursor: { firstBatch, id: Long.fromNumber(open ? cursor.id : 0), ns }, ok: 1 };
  }

  private getMore(cmd: Doc): Doc {
    const raw = cmd.getMore;
    const id = typeof raw === 'number' ? raw : raw instanceof Long ? raw.toNumber() : NaN;
    if (Number.isNaN(id)) {
      throw typeMismatch(`BSON field 'getMore.getMore' is the wrong type '${typeName(raw)}', expected type 'long'`);
    }
    const cursor = this.cursors.get(id);
    if (!cursor) throw new CommandError(43, 'CursorNotFound', `cursor id ${id} not found`);
    const db = cursor.ns.slice(0, cursor.ns.indexOf('.'));
    if (typeof cmd.collection === 'string' && cursor.ns !== `${db}.${cmd.collection}`) {
      throw new CommandError(
        13,
        'Unauthorized',
        `Requested getMore on namespace '${cmd.collection}', but cursor belongs to a different namespace ${cursor.ns}`,
      );
    }
    const batchSize = optionalNumber(cmd, 'batchSize');
    const nextBatch = this.takeBatch(cursor, batchSize && batchSize > 0 ? batchSize : Infinity);
    const exhausted = cursor.position >= cursor.docs.length;
    if (exhausted) this.cursors.delete(id);
    return { cursor: { nextBatch, id: Long.fromNumber(exhausted ? 0 : id), ns: cursor.ns }, ok: 1 };
  }

  private killCursors(cmd: Doc): Doc {
    if (typeof cmd.killCursors !== 'string') {
      throw typeMismatch("BSON field 'killCursors.killCursors' must be a collection name");
    }
    const ids = cmd.cursors;
    if (!Array.isArray(ids)) throw typeMismatch("BSON field 'killCursors.cursors' is missing or not an array");
    const cursorsKilled: Long[] = [];
    const cursorsNotFound: Long[] = [];
    for (const raw of ids) {
      const id = typeof raw === 'number' ? raw : raw instanceof Long ? raw.toNumber() : NaN;
      (this.cursors.delete(id) ? cursorsKilled : cursorsNotFound).push(Long.fromNumber(id));
    }
    return { cursorsKilled, cursorsNotFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  }

  // --- writes ----------------------------------------------------------------------------------------------------------

  /** Runs write statements with MongoDB's ordered/unordered semantics, collecting statement errors as `writeErrors`. */
  private writeStatements(cmd: Doc, statements: Doc[], run: (statement: Doc, index: number) => void): Doc[] {
    if (statements.length > MAX_WRITE_BATCH_SIZE) {
      throw new CommandError(
        10,
        'InvalidLength',
        `Write batch sizes must be between 1 and ${MAX_WRITE_BATCH_SIZE}. Got ${statements.length} operations.`,
      );
    }
    const ordered = cmd.ordered !== false;
    const writeErrors: Doc[] = [];
    for (let index = 0; index < statements.length; index++) {
      try {
        run(statements[index], index);
      } catch (error) {
        if (!(error instanceof CommandError)) throw error;
        writeErrors.push({ index, code: error.code, codeName: error.codeName, errmsg: error.message, ...error.extra });
        if (ordered) break;
      }
    }
    return writeErrors;
  }

  private insert(db: string, cmd: Doc): Doc {
    const name = collectionName(cmd, 'insert');
    const documents = requiredDocs(cmd, 'documents');
    const [collection] = this.collectionFor(db, name);
    let n = 0;
    const writeErrors = this.writeStatements(cmd, documents, (document) => {
      const doc = cloneDoc(document);
      if (Array.isArray(doc._id) || doc._id instanceof RegExp) {
        throw new CommandError(53, 'InvalidIdField', `The '_id' value cannot be of type ${typeName(doc._id)}`);
      }
      collection.insert(doc._id === undefined ? { _id: new ObjectId(), ...doc } : idFirst(doc));
      n++;
    });
    return writeErrors.length > 0 ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
  }

  private update(db: string, cmd: Doc): Doc {
    const name = collectionName(cmd, 'update');
    const statements = requiredDocs(cmd, 'updates');
    let collection = this.existing(db, name);
    let n = 0;
    let nModified = 0;
    const upserted: Doc[] = [];
    const writeErrors = this.writeStatements(cmd, statements, (statement, index) => {
      const query = statement.q;
      const update = statement.u;
      if (!isPlainObject(query)) throw typeMismatch("BSON field 'update.updates.q' is missing or not an object");
      if (!isPlainObject(update) && !Array.isArray(update)) {
        throw typeMismatch("BSON field 'update.updates.u' is missing or the wrong type");
      }
      const pipeline = Array.isArray(update) ? update.filter(isPlainObject) : null;
      const multi = statement.multi === true;
      const isReplacement = !pipeline && isPlainObject(update) && !(Object.keys(update)[0] ?? '').startsWith('$');
      if (multi && isReplacement) {
        throw new CommandError(9, 'FailedToParse', 'multi update is not supported for replacement-style update');
      }
      const arrayFilters = Array.isArray(statement.arrayFilters)
        ? statement.arrayFilters.filter(isPlainObject)
        : undefined;
      const context: UpdateContext = { inserting: false, arrayFilters, query };
      const spec = pipeline ?? (update as Doc);
      const matches = this.select(collection, query, multi ? Infinity : 1);
      if (matches.length > 0 && collection) {
        for (const previous of matches) {
          const [next, modified] = updatedDocument(previous, spec, context);
          n++;
          if (modified) {
            collection.replace(keyOf(previous._id), previous, next);
            nModified++;
          }
        }
        return;
      }
      if (statement.upsert !== true) return;
      // The new document starts from the query's equality fields (only its _id for a replacement), then the update applies.
      const equalities = seedFromQuery(query, {});
      const seed = isReplacement ? (equalities._id === undefined ? {} : { _id: equalities._id }) : equalities;
      let [doc] = updatedDocument(seed, spec, { ...context, inserting: true });
      doc = doc._id === undefined ? { _id: new ObjectId(), ...doc } : idFirst(doc);
      if (!collection) [collection] = this.collectionFor(db, name);
      collection.insert(doc);
      n++;
      upserted.push({ index, _id: doc._id });
    });
    const reply: Doc = { n, nModified };
    if (upserted.length > 0) reply.upserted = upserted;
    if (writeErrors.length > 0) reply.writeErrors = writeErrors;
    reply.ok = 1;
    return reply;
  }

  private delete(db: string, cmd: Doc): Doc {
    const name = collectionName(cmd, 'delete');
    const statements = requiredDocs(cmd, 'deletes');
    const collection = this.existing(db, name);
    let n = 0;
    const writeErrors = this.writeStatements(cmd, statements, (statement) => {
      if (!isPlainObject(statement.q)) throw typeMismatch("BSON field 'delete.deletes.q' is missing or not an object");
      const limit = optionalNumber(statement, 'limit');
      if (limit !== 0 && limit !== 1) {
        throw new CommandError(
          9,
          'FailedToParse',
          `The limit field in delete objects must be 0 or 1. Got ${String(limit)}`,
        );
      }
      for (const doc of this.select(collection, statement.q, limit === 1 ? 1 : Infinity)) {
        collection?.remove(keyOf(doc._id), doc);
        n++;
      }
    });
    return writeErrors.length > 0 ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
  }
}

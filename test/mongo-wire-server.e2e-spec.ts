import { BSON, Long } from 'bson';
import mongoose, { Connection, Schema, Types } from 'mongoose';
import { Socket } from 'node:net';
import { MongoWireServer } from './support/mongo-wire-server';

/**
 * The test-only MongoDB wire-protocol server, driven by the real mongoose/mongodb driver over TCP (plus hand-built
 * frames for the protocol edge cases the driver never produces on its own).
 */
describe('MongoWireServer', () => {
  let server: MongoWireServer;
  let connection: Connection;
  let databaseSequence = 0;

  /** A database of its own for each test, on the shared client. */
  const freshDb = () => connection.useDb(`wire-${++databaseSequence}`, { useCache: false });
  const nativeDb = (conn: Connection) => {
    if (!conn.db) throw new Error('connection has no db');
    return conn.db;
  };

  beforeAll(async () => {
    server = await MongoWireServer.start();
    connection = await mongoose.createConnection(server.uri, { serverSelectionTimeoutMS: 1000 }).asPromise();
  });

  afterAll(async () => {
    await connection?.close();
    await server?.stop();
  });

  it('accepts the driver handshake and answers ping, buildInfo and hello as a standalone MongoDB 7.0', async () => {
    const admin = nativeDb(connection).admin();
    expect(await admin.ping()).toEqual({ ok: 1 });
    expect(await admin.buildInfo()).toMatchObject({ version: '7.0.0', versionArray: [7, 0, 0, 0], ok: 1 });
    expect(await admin.command({ hello: 1 })).toMatchObject({
      isWritablePrimary: true,
      helloOk: true,
      maxWireVersion: 21,
      maxBsonObjectSize: 16 * 1024 * 1024,
      logicalSessionTimeoutMinutes: 30,
      ok: 1,
    });
    // The first message of every connection (monitor and pool) is the OP_QUERY handshake, spelled `ismaster`.
    expect(server.commandCount('ismaster')).toBeGreaterThanOrEqual(2);
    expect(server.uri).toBe(`mongodb://127.0.0.1:${server.port}/test?directConnection=true`);
  });

  it('lets Model.init() create the collection and its indexes, and lets it run again over existing ones', async () => {
    const db = freshDb();
    const schema = new Schema({ email: { type: String, unique: true }, label: { type: String, index: true } });
    const First = db.model('Account', schema);
    await First.init();
    await First.init();

    // A second connection initialises the same model: its `create` meets NamespaceExists (48), which mongoose
    // tolerates, and createIndexes finds every index already there.
    const creates = server.commandCount('create');
    const other = await mongoose
      .createConnection(server.uriFor(db.name), { serverSelectionTimeoutMS: 1000 })
      .asPromise();
    try {
      await other.model('Account', schema).init();
    } finally {
      await other.close();
    }
    expect(server.commandCount('create')).toBe(creates + 1);
    await expect(nativeDb(db).createCollection('accounts')).rejects.toMatchObject({
      code: 48,
      codeName: 'NamespaceExists',
    });

    expect(server.indexes(db.name, 'accounts')).toEqual([
      { v: 2, key: { _id: 1 }, name: '_id_' },
      expect.objectContaining({ v: 2, key: { email: 1 }, name: 'email_1', unique: true }),
      expect.objectContaining({ v: 2, key: { label: 1 }, name: 'label_1' }),
    ]);
    const indexNames = (await First.listIndexes()).map((index: { name: string }) => index.name);
    expect(indexNames).toEqual(['_id_', 'email_1', 'label_1']);
    expect(await nativeDb(db).listCollections().toArray()).toEqual([
      expect.objectContaining({
        name: 'accounts',
        type: 'collection',
        info: expect.objectContaining({ readOnly: false }),
      }),
    ]);
    // Dropping a missing collection answers NamespaceNotFound (26), which the driver turns into `false`.
    await expect(nativeDb(db).collection('missing').drop()).resolves.toBe(false);
    await expect(nativeDb(db).command({ listIndexes: 'missing' })).rejects.toMatchObject({
      code: 26,
      codeName: 'NamespaceNotFound',
    });
  });

  it('round-trips strings, numbers, Dates, nulls, arrays and nested objects, and $set of a dotted path', async () => {
    const db = freshDb();
    const Thing = db.model(
      'Thing',
      new Schema({
        text: String,
        whole: Number,
        fraction: Number,
        big: Number,
        when: Date,
        nothing: { type: String, default: null },
        tags: [String],
        matrix: Schema.Types.Mixed,
        nested: { inner: { deep: String, count: Number } },
        ended: Schema.Types.Mixed,
      }),
    );
    const when = new Date('2024-02-29T12:34:56.789Z');
    const created = await Thing.create({
      text: 'héllo wörld ✓',
      whole: -42,
      fraction: 1.5,
      big: 2 ** 40,
      when,
      tags: ['a', 'b', 'c'],
      matrix: [
        [1, 2],
        [3, { four: 4 }],
      ],
      nested: { inner: { deep: 'down', count: 7 } },
      ended: {},
    });
    const endedAt = new Date('2025-01-01T00:00:00.000Z');
    const result = await Thing.updateOne({ _id: created._id }, { $set: { 'ended.AbC_-9': { at: endedAt } } });
    expect(result).toMatchObject({ matchedCount: 1, modifiedCount: 1 });

    const found = await Thing.findById(created._id).lean();
    expect(found).toEqual({
      _id: created._id,
      text: 'héllo wörld ✓',
      whole: -42,
      fraction: 1.5,
      big: 2 ** 40,
      when,
      nothing: null,
      tags: ['a', 'b', 'c'],
      matrix: [
        [1, 2],
        [3, { four: 4 }],
      ],
      nested: { inner: { deep: 'down', count: 7 } },
      ended: { 'AbC_-9': { at: endedAt } },
      __v: 0,
    });
    expect(found?._id).toBeInstanceOf(Types.ObjectId);
    expect(found?.when).toBeInstanceOf(Date);

    // What the server hands out is a copy: changing it changes nothing stored.
    const [stored] = server.collection(db.name, 'things');
    expect(stored.ended).toEqual({ 'AbC_-9': { at: endedAt } });
    (stored.nested as { inner: { deep: string } }).inner.deep = 'mutated';
    expect(server.collection(db.name, 'things')[0].nested).toEqual({ inner: { deep: 'down', count: 7 } });
  });

  it('upserts 5,000 documents by _id with bulkWrite, then matches the same 5,000 instead of inserting', async () => {
    const db = freshDb();
    const Entry = db.model(
      'Entry',
      new Schema(
        { _id: String, round: Number, firstRound: Number, endedKeys: Schema.Types.Mixed },
        { versionKey: false },
      ),
    );
    const upsertAll = (round: number) =>
      Entry.bulkWrite(
        Array.from({ length: 5_000 }, (_, i) => ({
          updateOne: {
            filter: { _id: `entry-${i}` },
            update: {
              $set: { round, [`endedKeys.r${round}`]: { at: new Date(round) } },
              $setOnInsert: { firstRound: round },
            },
            upsert: true,
          },
        })),
        { ordered: false },
      );

    const first = await upsertAll(1);
    expect(first).toMatchObject({ upsertedCount: 5_000, matchedCount: 0, modifiedCount: 0 });
    expect(first.upsertedIds[0]).toBe('entry-0');
    expect(await Entry.countDocuments()).toBe(5_000);

    const second = await upsertAll(2);
    expect(second).toMatchObject({ upsertedCount: 0, matchedCount: 5_000, modifiedCount: 5_000 });
    expect(await Entry.countDocuments()).toBe(5_000);

    // Re-applying identical values matches without modifying.
    const third = await upsertAll(2);
    expect(third).toMatchObject({ upsertedCount: 0, matchedCount: 5_000, modifiedCount: 0 });

    // Dotted $set paths add to the embedded document instead of replacing it; $setOnInsert only ran on insert.
    expect(await Entry.findById('entry-4999').lean()).toEqual({
      _id: 'entry-4999',
      round: 2,
      firstRound: 1,
      endedKeys: { r1: { at: new Date(1) }, r2: { at: new Date(2) } },
    });
    expect(server.collection(db.name, 'entries')).toHaveLength(5_000);
  });

  it('enforces a unique index on a non-_id field with duplicate key error 11000', async () => {
    const db = freshDb();
    const User = db.model('User', new Schema({ email: { type: String, unique: true }, name: String }));
    await User.init();
    await User.create({ email: 'a@example.com', name: 'A' });
    const other = await User.create({ email: 'b@example.com', name: 'B' });

    await expect(User.create({ email: 'a@example.com', name: 'again' })).rejects.toMatchObject({
      code: 11000,
      keyPattern: { email: 1 },
      keyValue: { email: 'a@example.com' },
    });
    const taken = User.updateOne({ _id: other._id }, { $set: { email: 'a@example.com' } });
    await expect(taken).rejects.toMatchObject({ code: 11000 });

    // Unordered: the duplicate fails alone, the rest are inserted.
    const documents = [
      { email: 'c@example.com', name: 'C' },
      { email: 'b@example.com', name: 'dup' },
      { email: 'd@example.com', name: 'D' },
    ];
    const error: unknown = await User.insertMany(documents, { ordered: false }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 11000, insertedDocs: [expect.anything(), expect.anything()] });
    expect((await User.find().sort({ email: 1 }).lean()).map((user) => user.email)).toEqual([
      'a@example.com',
      'b@example.com',
      'c@example.com',
      'd@example.com',
    ]);

    // The index follows updates: the old value is free again once changed.
    await User.updateOne({ _id: other._id }, { $set: { email: 'e@example.com' } });
    await expect(User.create({ email: 'b@example.com', name: 'B again' })).resolves.toBeDefined();
  });

  it('applies $max and $min as MongoDB does: by value, setting missing fields and paths, across types in BSON order', async () => {
    type Item = {
      _id: string;
      n?: unknown;
      when?: unknown;
      held?: Record<string, unknown>;
      gone?: unknown;
      s?: string;
    };
    const items = nativeDb(freshDb()).collection<Item>('items');
    const early = new Date('2025-01-01T00:00:00.000Z');
    const late = new Date('2025-06-01T00:00:00.000Z');
    await items.insertOne({ _id: 'x', n: 5, when: early, gone: null, s: 'abc' });
    const modified = async (update: object) => (await items.updateOne({ _id: 'x' }, update)).modifiedCount;

    // Numbers and Dates: only a greater (for $max) or smaller (for $min) value replaces; an equal one changes nothing.
    expect(await modified({ $max: { n: 3 } })).toBe(0);
    expect(await modified({ $max: { n: 5 } })).toBe(0);
    expect(await modified({ $max: { n: 9 }, $min: { when: late } })).toBe(1);
    expect(await modified({ $min: { n: 2.5 } })).toBe(1);
    expect(await modified({ $max: { when: late } })).toBe(1);
    expect(await modified({ $min: { when: late } })).toBe(0);
    // A missing field, and a missing path, are set whatever the value.
    expect(await modified({ $max: { 'held.a': 4, 'held.b': early }, $min: { 'held.c': -1 } })).toBe(1);
    expect(await modified({ $max: { 'held.a': 3 }, $min: { 'held.c': 0 } })).toBe(0);
    // Across types, BSON order: null < numbers < strings < ... < Dates.
    expect(await modified({ $max: { gone: 1 } })).toBe(1);
    expect(await modified({ $max: { s: 7 } })).toBe(0);
    expect(await modified({ $min: { s: 7 } })).toBe(1);
    expect(await modified({ $max: { when: 10 ** 15 } })).toBe(0);
    expect(await modified({ $max: { 'held.a': early } })).toBe(1);
    expect(await items.findOne({ _id: 'x' })).toEqual({
      _id: 'x',
      n: 2.5,
      when: late,
      gone: 1,
      s: 7,
      held: { a: early, b: early, c: -1 },
    });

    // In an upsert, beside $set and $setOnInsert, as the archive sends them: inserting, then again on the document.
    const upsert = (at: Date, generation: number) =>
      items.updateOne(
        { _id: 'y' },
        { $set: { s: 'v' }, $max: { 'held.k': generation, when: at }, $setOnInsert: { n: 0 } },
        { upsert: true },
      );
    expect(await upsert(late, 2)).toMatchObject({ upsertedCount: 1 });
    expect(await upsert(early, 1)).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
    expect(await upsert(late, 3)).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await items.findOne({ _id: 'y' })).toEqual({ _id: 'y', s: 'v', held: { k: 3 }, when: late, n: 0 });
  });

  it('rejects the updates MongoDB rejects, with its error codes', async () => {
    const items = nativeDb(freshDb()).collection<{ _id: string; gone?: null; text?: string }>('items');
    await items.insertOne({ _id: 'x', gone: null, text: 'abc' });
    await expect(items.updateOne({ _id: 'x' }, { $set: { 'gone.field': 1 } })).rejects.toMatchObject({
      code: 28,
      codeName: 'PathNotViable',
    });
    await expect(items.updateOne({ _id: 'x' }, { $inc: { text: 1 } } as object)).rejects.toMatchObject({ code: 14 });
    await expect(items.updateOne({ _id: 'x' }, { $frob: { text: 1 } })).rejects.toMatchObject({ code: 9 });
    await expect(items.updateOne({ _id: 'x' }, { $set: { _id: 'y' } })).rejects.toMatchObject({ code: 66 });
    expect(await items.findOne({ _id: 'x' })).toEqual({ _id: 'x', gone: null, text: 'abc' });
  });

  describe('queries', () => {
    const base = Date.UTC(2024, 0, 1);
    const day = 24 * 3600 * 1000;
    const rowSchema = new Schema({ n: Number, kind: String, at: Date }, { versionKey: false });
    const ns = (found: { n?: number | null }[]) => found.map((row) => row.n);

    it('filters with $or, $lt on Dates, $ne and $in, and sorts and limits', async () => {
      const db = freshDb();
      const Row = db.model('Row', rowSchema);
      await Row.insertMany(
        Array.from({ length: 30 }, (_, n) => ({ n, kind: 'abc'[n % 3], at: new Date(base + n * day) })),
      );

      expect(
        ns(
          await Row.find({ at: { $lt: new Date(base + 5 * day) } })
            .sort({ n: 1 })
            .lean(),
        ),
      ).toEqual([0, 1, 2, 3, 4]);
      const either = await Row.find({ $or: [{ n: { $lt: 2 } }, { kind: 'c', n: { $gt: 25 } }] })
        .sort({ n: 1 })
        .lean();
      expect(ns(either)).toEqual([0, 1, 26, 29]);
      expect(await Row.countDocuments({ kind: { $ne: 'a' } })).toBe(20);
      expect(
        ns(
          await Row.find({ n: { $in: [3, 17, 99] } })
            .sort({ n: -1 })
            .lean(),
        ),
      ).toEqual([17, 3]);
      expect(ns(await Row.find({ kind: 'b' }).sort({ at: -1 }).limit(3).lean())).toEqual([28, 25, 22]);
      expect(ns(await Row.find().sort({ kind: 1, n: -1 }).skip(8).limit(4).lean())).toEqual([3, 0, 28, 25]);
      expect(await Row.find({ n: 4 }).select({ kind: 1, _id: 0 }).lean()).toEqual([{ kind: 'b' }]);
      expect((await Row.distinct('kind')).sort()).toEqual(['a', 'b', 'c']);
      await expect(
        nativeDb(db)
          .collection('rows')
          .find({ n: { $frob: 1 } })
          .toArray(),
      ).rejects.toMatchObject({
        code: 2,
        codeName: 'BadValue',
      });
    });

    it('iterates 1,050 documents through a cursor in batches of 100, one getMore per further batch', async () => {
      const db = freshDb();
      const Row = db.model('Row', rowSchema);
      await Row.insertMany(Array.from({ length: 1_050 }, (_, n) => ({ n, kind: 'k', at: new Date(base + n) })));
      const getMores = server.commandCount('getMore');
      const seen: number[] = [];
      for await (const row of Row.find().sort({ n: 1 }).batchSize(100).cursor()) seen.push(row.n ?? -1);
      expect(seen).toEqual(Array.from({ length: 1_050 }, (_, n) => n));
      // find returns 100, then getMore returns 100 nine times and the last 50 with cursor id 0.
      expect(server.commandCount('getMore') - getMores).toBe(10);
    });

    it('deletes with a Date filter and counts with and without a filter', async () => {
      const db = freshDb();
      const Row = db.model('Row', rowSchema);
      const rows = Array.from({ length: 12 }, (_, n) => ({
        n,
        kind: n % 2 ? 'odd' : 'even',
        at: new Date(base + n * day),
      }));
      await Row.insertMany(rows);
      const cutoff = new Date(base + 4 * day);
      expect((await Row.deleteMany({ at: { $lt: cutoff } })).deletedCount).toBe(4);
      expect(await Row.countDocuments()).toBe(8);
      expect(await Row.countDocuments({ kind: 'odd' })).toBe(4);
      expect(await Row.countDocuments({ at: { $lt: cutoff } })).toBe(0);
      expect(await Row.estimatedDocumentCount()).toBe(8); // the legacy `count` command
      expect((await Row.deleteOne({ kind: 'even' })).deletedCount).toBe(1);
      expect(await Row.countDocuments()).toBe(7);
    });
  });

  it('answers an unknown command with CommandNotFound (59), never a silent success', async () => {
    await expect(nativeDb(connection).command({ frobnicate: 1 })).rejects.toMatchObject({
      code: 59,
      codeName: 'CommandNotFound',
      message: "no such command: 'frobnicate'",
    });
    // Real commands this server does not implement are refused the same way.
    await expect(nativeDb(connection).command({ findAndModify: 'anything', query: {} })).rejects.toMatchObject({
      code: 59,
    });
  });

  describe('fault hooks', () => {
    it('dropAllConnections: a write issued at once fails, a read is retried, and the next write succeeds', async () => {
      const db = freshDb();
      const Item = db.model('Item', new Schema({ _id: String, n: Number }));
      await Item.create({ _id: 'item', n: 1 });
      const handshakes = server.commandCount('ismaster');

      // The driver writes on a pooled socket before it has seen it close; writes are not retryable on a standalone.
      server.dropAllConnections();
      await expect(Item.updateOne({ _id: 'item' }, { $inc: { n: 1 } })).rejects.toMatchObject({
        name: 'MongoNetworkError',
        message: expect.stringMatching(/connection .* closed/),
      });
      // Reads are retried once, after the driver has found the server again.
      server.dropAllConnections();
      await expect(Item.findById('item').lean()).resolves.toMatchObject({ n: 1 });
      await expect(Item.updateOne({ _id: 'item' }, { $inc: { n: 1 } })).resolves.toMatchObject({ modifiedCount: 1 });
      expect((await Item.findById('item').lean())?.n).toBe(2);
      expect(server.commandCount('ismaster')).toBeGreaterThan(handshakes); // fresh connections, fresh handshakes
    });

    it('refuseConnections: operations fail server selection after serverSelectionTimeoutMS, then work again', async () => {
      const db = freshDb();
      const Item = db.model('Item', new Schema({ _id: String, n: Number }));
      await Item.create({ _id: 'item', n: 1 });

      server.refuseConnections(true);
      try {
        const read = () => Item.findById('item').lean();
        const write = () => Item.updateOne({ _id: 'item' }, { $inc: { n: 1 } });
        for (const operation of [read, write]) {
          const started = Date.now();
          await expect(operation()).rejects.toMatchObject({ name: 'MongoServerSelectionError' });
          const elapsed = Date.now() - started;
          expect(elapsed).toBeGreaterThanOrEqual(900);
          expect(elapsed).toBeLessThan(5_000);
        }
        expect(server.connectionCount).toBe(0);
        expect(connection.readyState).toBe(mongoose.ConnectionStates.disconnected);
      } finally {
        server.refuseConnections(false);
      }

      await expect(Item.updateOne({ _id: 'item' }, { $inc: { n: 1 } })).resolves.toMatchObject({ modifiedCount: 1 });
      expect((await Item.findById('item').lean())?.n).toBe(2);
      expect(connection.readyState).toBe(mongoose.ConnectionStates.connected);
    });
  });

  it('keeps up with 100,000 upserts in batches of 1,000', async () => {
    const db = freshDb();
    const Key = db.model('Key', new Schema({ _id: String, data: Schema.Types.Mixed, at: Date }, { versionKey: false }));
    let upserted = 0;
    for (let start = 0; start < 100_000; start += 1_000) {
      const result = await Key.bulkWrite(
        Array.from({ length: 1_000 }, (_, i) => ({
          updateOne: {
            filter: { _id: `key-${start + i}` },
            update: { $set: { data: { value: start + i }, at: new Date() } },
            upsert: true,
          },
        })),
        { ordered: false },
      );
      upserted += result.upsertedCount;
    }
    expect(upserted).toBe(100_000);
    expect(await Key.countDocuments()).toBe(100_000);
    expect(await Key.findById('key-54321').lean()).toMatchObject({ data: { value: 54_321 } });
  });

  describe('wire protocol framing (hand-built frames)', () => {
    type Frame = { responseTo: number; opCode: number; doc: Record<string, unknown> };
    let socket: Socket;
    let received = Buffer.alloc(0);
    let requestId = 0;

    const header = (length: number, opCode: number) => {
      const buffer = Buffer.alloc(16);
      buffer.writeInt32LE(length, 0);
      buffer.writeInt32LE(++requestId, 4);
      buffer.writeInt32LE(opCode, 12);
      return buffer;
    };
    const opQuery = (ns: string, query: Record<string, unknown>) => {
      const skipAndReturn = Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
      const body = Buffer.concat([Buffer.alloc(4), Buffer.from(`${ns}\0`), skipAndReturn, BSON.serialize(query)]);
      return Buffer.concat([header(16 + body.length, 2004), body]);
    };
    const opMsg = (flags: number, command: Record<string, unknown>, sequence?: [string, Record<string, unknown>[]]) => {
      const flagBits = Buffer.alloc(4);
      flagBits.writeUInt32LE(flags);
      const parts = [flagBits, Buffer.from([0]), BSON.serialize(command)];
      if (sequence) {
        const [identifier, documents] = sequence;
        const payload = Buffer.concat([Buffer.from(`${identifier}\0`), ...documents.map((doc) => BSON.serialize(doc))]);
        const size = Buffer.alloc(4);
        size.writeInt32LE(4 + payload.length);
        parts.push(Buffer.from([1]), size, payload);
      }
      if (flags & 1) parts.push(Buffer.from([0xde, 0xad, 0xbe, 0xef])); // checksum: present, not verified
      const body = Buffer.concat(parts);
      return Buffer.concat([header(16 + body.length, 2013), body]);
    };
    const pause = () => new Promise((resolve) => setTimeout(resolve, 30));
    const replies = async (count: number): Promise<Frame[]> => {
      for (let waited = 0; waited < 5_000; waited += 10) {
        const frames: Frame[] = [];
        let offset = 0;
        while (offset + 4 <= received.length && offset + received.readInt32LE(offset) <= received.length) {
          const frame = received.subarray(offset, offset + received.readInt32LE(offset));
          const opCode = frame.readInt32LE(12);
          const doc = BSON.deserialize(frame.subarray(opCode === 1 ? 36 : 21), { promoteLongs: false });
          frames.push({ responseTo: frame.readInt32LE(8), opCode, doc });
          offset += frame.length;
        }
        if (frames.length >= count) return frames;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`expected ${count} replies`);
    };

    beforeEach(async () => {
      received = Buffer.alloc(0);
      socket = new Socket();
      socket.setNoDelay(true);
      socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
      await new Promise<void>((resolve) => socket.connect(server.port, '127.0.0.1', resolve));
    });

    afterEach(() => {
      socket.destroy();
    });

    it('reassembles split frames, answers several per chunk, merges kind-1 sequences, stays silent for moreToCome', async () => {
      const db = `wire-raw-${++databaseSequence}`;
      const handshake = opQuery('admin.$cmd', { isMaster: 1, helloOk: true });
      const insert = opMsg(1 /* checksumPresent */, { insert: 'raw', ordered: true, $db: db }, [
        'documents',
        [
          { _id: 1, v: 'one' },
          { _id: 2, v: 'two' },
        ],
      ]);
      const silentInsert = opMsg(2 /* moreToCome */, { insert: 'raw', $db: db }, [
        'documents',
        [{ _id: 3, v: 'three' }],
      ]);
      const find = opMsg(0, { find: 'raw', filter: {}, sort: { _id: 1 }, batchSize: 2, $db: db });

      socket.write(handshake.subarray(0, 3)); // not even a whole length prefix
      await pause();
      socket.write(Buffer.concat([handshake.subarray(3), insert.subarray(0, 7)]));
      await pause();
      socket.write(Buffer.concat([insert.subarray(7), silentInsert, find]));
      const [hello, inserted, found] = await replies(3);

      expect(hello).toMatchObject({
        opCode: 1, // OP_REPLY
        responseTo: handshake.readInt32LE(4),
        doc: { ismaster: true, maxWireVersion: 21, ok: 1 },
      });
      expect(inserted).toMatchObject({ opCode: 2013, responseTo: insert.readInt32LE(4), doc: { n: 2, ok: 1 } });
      // The reply after the insert answers the find: nothing answered the moreToCome insert.
      expect(found).toMatchObject({ opCode: 2013, responseTo: find.readInt32LE(4) });
      const cursor = found.doc.cursor as { id: Long; ns: string; firstBatch: unknown[] };
      expect(cursor).toMatchObject({
        ns: `${db}.raw`,
        firstBatch: [
          { _id: 1, v: 'one' },
          { _id: 2, v: 'two' },
        ],
      });
      expect(cursor.id).toBeInstanceOf(Long);
      expect(cursor.id.isZero()).toBe(false);
      expect(server.collection(db, 'raw')).toEqual([
        { _id: 1, v: 'one' },
        { _id: 2, v: 'two' },
        { _id: 3, v: 'three' },
      ]);

      received = Buffer.alloc(0);
      const more = opMsg(0, { getMore: cursor.id, collection: 'raw', $db: db });
      const stale = opMsg(0, { getMore: Long.fromNumber(987_654), collection: 'raw', $db: db });
      socket.write(Buffer.concat([more, stale]));
      const [next, unknown] = await replies(2);
      expect(next.doc).toMatchObject({ cursor: { nextBatch: [{ _id: 3, v: 'three' }], ns: `${db}.raw` }, ok: 1 });
      expect((next.doc.cursor as { id: Long }).id.isZero()).toBe(true);
      expect(unknown.doc).toMatchObject({ ok: 0, code: 43, codeName: 'CursorNotFound' });
    });
  });
});

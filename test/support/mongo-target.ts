import mongoose from 'mongoose';
import { randomUUID } from 'node:crypto';
import { MongoWireServer } from './mongo-wire-server';
import { TcpProxy } from './tcp-proxy';

/**
 * Where the archive suites write: a real MongoDB when MONGODB_URI is set (e.g. `docker compose -f
 * docker/compose.yaml up -d mongodb`, then MONGODB_URI=mongodb://127.0.0.1:27017), otherwise the in-memory wire
 * server of test/support. Either way the service reaches it through a TcpProxy the test can cut, and each suite
 * uses a database of its own.
 */
export interface MongoTarget {
  /** What the suite runs against, for its title. */
  label: string;
  /** Connection string through the proxy, with the suite's own database. */
  uri: string;
  proxy: TcpProxy;
  stop(): Promise<void>;
}

export async function startMongoTarget(): Promise<MongoTarget> {
  const database = `setgetapi_test_${randomUUID().slice(0, 8)}`;
  const real = process.env.MONGODB_URI;
  const wire = real ? null : await MongoWireServer.start();
  const target = new URL(real ?? (wire as MongoWireServer).uri);
  const proxy = await TcpProxy.start(target.hostname, Number(target.port || 27017));
  const uri = new URL(target.toString());
  uri.hostname = '127.0.0.1';
  uri.port = String(proxy.port);
  uri.pathname = `/${database}`;
  uri.searchParams.set('directConnection', 'true');
  return {
    label: real ? `MongoDB at ${target.host}` : 'the MongoDB wire server (test/support)',
    uri: uri.toString(),
    proxy,
    async stop() {
      if (real) {
        const connection = await mongoose.createConnection(uri.toString()).asPromise();
        await connection.dropDatabase();
        await connection.close();
      }
      await proxy.stop();
      await wire?.stop();
    },
  };
}

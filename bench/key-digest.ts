/**
 * CPU per written webhook key of WebhookKeyDigester.digested (SHA-256 of the key, its digest, its mask), against the
 * same formula computed with node:crypto and key objects prepared once (the implementation before ./sha256), in
 * the same process and run. Keys are like bench:ingest's (`bench-key-10-<n>-<k>`, all different: no cache could
 * help); best of 9 passes of 20,000 keys each, CPU time of this process (process.cpuUsage).
 *
 * Run: npx ts-node --transpile-only bench/key-digest.ts
 */
import { createHmac, createSecretKey, hash, KeyObject } from 'node:crypto';
import { WebhookKeyDigester } from '../src/store/key-layout';

const SECRET = 'bench-webhook-secret-0123456789';
const KEYS = Array.from({ length: 20_000 }, (_, index) => `bench-key-10-${index}-${index % 10}`);
const PASSES = 9;

/** The formula of key-layout.ts with node:crypto: SHA-256, then HMAC for the digest and HMAC for the pad. */
class NodeCryptoDigester {
  private readonly secret: KeyObject = createSecretKey(Buffer.from(SECRET));
  private readonly padKey: KeyObject = createSecretKey(
    createHmac('sha256', SECRET).update('setgetapi key mask').digest(),
  );

  digested(webhookKey: string): { digests: string[]; mask: string } {
    const keyHash = hash('sha256', webhookKey, 'buffer');
    const digest = createHmac('sha256', this.secret).update(keyHash).digest('base64url');
    const mask = createHmac('sha256', this.padKey).update(digest).digest();
    for (let index = 0; index < mask.length; index++) mask[index] ^= keyHash[index];
    return { digests: [digest], mask: mask.toString('base64url') };
  }
}

function microsPerKey(digest: (key: string) => unknown): number {
  let best = Infinity;
  for (let pass = 0; pass < PASSES; pass++) {
    const before = process.cpuUsage();
    for (const key of KEYS) digest(key);
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / KEYS.length);
  }
  return best;
}

const digester = new WebhookKeyDigester(SECRET);
const reference = new NodeCryptoDigester();
for (const key of KEYS.slice(0, 1000)) {
  if (JSON.stringify(digester.digested(key)) !== JSON.stringify(reference.digested(key)))
    throw new Error(`the two disagree on ${key}`);
}
// Alternating, twice each, so that neither always runs on a warmer or a quieter machine.
const rounds = [0, 1].map(() => ({
  nodeCrypto: microsPerKey((key) => reference.digested(key)),
  digester: microsPerKey((key) => digester.digested(key)),
}));
for (const [index, round] of rounds.entries()) {
  console.log(
    `round ${index + 1}: node:crypto ${round.nodeCrypto.toFixed(2)} µs/key, WebhookKeyDigester ` +
      `${round.digester.toFixed(2)} µs/key (${(round.digester / round.nodeCrypto).toFixed(2)})`,
  );
}

import { createHash, createHmac } from 'node:crypto';

/**
 * SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) in plain JavaScript, for the webhook-key digests and masks of
 * WebhookKeyDigester only: their outputs are bit for bit those of `node:crypto` (sha256.spec.ts compares them on a
 * fuzzed corpus), so nothing stored changes.
 *
 * Why not `node:crypto`: on Node 20 every hash or HMAC it computes pays about 1.4 µs of set-up in OpenSSL (the
 * digest is looked up by name and a context allocated per call), far more than the hashing of a short input. A
 * written key costs one SHA-256 and two HMACs, five compressions of one block each; here they take about 0.4 µs
 * each, and an HMAC key's two padded blocks are compressed once, when the key is prepared, not at every HMAC
 * (bench/RESULTS.md, "Ingest: the digest of a webhook key").
 *
 * The arithmetic is 32-bit integer operations only, with no branch and no table index that depends on the data or
 * the key, so its time does not depend on either. Not re-entrant across calls in flight: every function runs to
 * completion synchronously and shares the module's scratch space, which nothing outside this file can reach.
 */

const ROUND_CONSTANTS = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

const INITIAL_STATE = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const BLOCK_BYTES = 64;
export const SHA256_BYTES = 32;

/** Scratch space, reused by every call (all synchronous). */
const schedule = new Int32Array(64);
const state = new Int32Array(8);
const lastBlocks = new Uint8Array(2 * BLOCK_BYTES);
const innerHash = new Uint8Array(SHA256_BYTES);

/** One compression of the 64-byte block at `offset` of `bytes` into `into`. */
function compress(into: Int32Array, bytes: Uint8Array, offset: number): void {
  const w = schedule;
  for (let index = 0; index < 16; index++) {
    const at = offset + index * 4;
    w[index] = (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
  }
  for (let index = 16; index < 64; index++) {
    const back15 = w[index - 15];
    const back2 = w[index - 2];
    const sigma0 = ((back15 >>> 7) | (back15 << 25)) ^ ((back15 >>> 18) | (back15 << 14)) ^ (back15 >>> 3);
    const sigma1 = ((back2 >>> 17) | (back2 << 15)) ^ ((back2 >>> 19) | (back2 << 13)) ^ (back2 >>> 10);
    w[index] = (w[index - 16] + sigma0 + w[index - 7] + sigma1) | 0;
  }
  let a = into[0];
  let b = into[1];
  let c = into[2];
  let d = into[3];
  let e = into[4];
  let f = into[5];
  let g = into[6];
  let h = into[7];
  for (let index = 0; index < 64; index++) {
    const sum1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + sum1 + ((e & f) ^ (~e & g)) + ROUND_CONSTANTS[index] + w[index]) | 0;
    const sum0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (sum0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  into[0] = (into[0] + a) | 0;
  into[1] = (into[1] + b) | 0;
  into[2] = (into[2] + c) | 0;
  into[3] = (into[3] + d) | 0;
  into[4] = (into[4] + e) | 0;
  into[5] = (into[5] + f) | 0;
  into[6] = (into[6] + g) | 0;
  into[7] = (into[7] + h) | 0;
}

/**
 * Hashes `bytes[0, length)` on from `from` (the state after `before` bytes, a multiple of 64, were hashed) to the
 * end, and writes the 32-byte hash to `out` at `outOffset`.
 */
function finish(
  from: Int32Array,
  before: number,
  bytes: Uint8Array,
  length: number,
  out: Uint8Array,
  outOffset: number,
): void {
  state.set(from);
  let offset = 0;
  for (; offset + BLOCK_BYTES <= length; offset += BLOCK_BYTES) compress(state, bytes, offset);
  const rest = length - offset;
  // The padding: 0x80, zeros, then the length in bits (big-endian, 64 bits), in one block or two.
  const padded = rest < 56 ? BLOCK_BYTES : 2 * BLOCK_BYTES;
  lastBlocks.fill(0, 0, padded);
  for (let index = 0; index < rest; index++) lastBlocks[index] = bytes[offset + index];
  lastBlocks[rest] = 0x80;
  const bits = (before + length) * 8;
  const high = Math.floor(bits / 0x100000000);
  for (let index = 0; index < 4; index++) {
    lastBlocks[padded - 1 - index] = (bits >>> (8 * index)) & 0xff;
    lastBlocks[padded - 5 - index] = (high >>> (8 * index)) & 0xff;
  }
  compress(state, lastBlocks, 0);
  if (padded > BLOCK_BYTES) compress(state, lastBlocks, BLOCK_BYTES);
  for (let index = 0; index < 8; index++) {
    const word = state[index];
    const at = outOffset + index * 4;
    out[at] = word >>> 24;
    out[at + 1] = (word >>> 16) & 0xff;
    out[at + 2] = (word >>> 8) & 0xff;
    out[at + 3] = word & 0xff;
  }
}

/** SHA-256 of `bytes[0, length)`, written to `out` at `outOffset` (32 bytes). */
export function sha256Into(bytes: Uint8Array, length: number, out: Uint8Array, outOffset = 0): void {
  finish(INITIAL_STATE, 0, bytes, length, out, outOffset);
}

/**
 * An HMAC-SHA256 key, prepared once: the states after its inner and outer padded blocks. They are as secret as the
 * key itself (they alone compute the HMAC), and kept as a KeyObject's bytes would be: in this process's memory only.
 */
export class HmacSha256Key {
  private readonly inner = new Int32Array(INITIAL_STATE);
  private readonly outer = new Int32Array(INITIAL_STATE);

  constructor(key: Uint8Array) {
    const block = new Uint8Array(BLOCK_BYTES);
    if (key.length > BLOCK_BYTES) sha256Into(key, key.length, block);
    else block.set(key);
    for (let index = 0; index < BLOCK_BYTES; index++) block[index] ^= 0x36;
    compress(this.inner, block, 0);
    for (let index = 0; index < BLOCK_BYTES; index++) block[index] ^= 0x36 ^ 0x5c;
    compress(this.outer, block, 0);
    block.fill(0);
  }

  /** HMAC-SHA256 of `message[0, length)` under this key, written to `out` at `outOffset` (32 bytes). */
  macInto(message: Uint8Array, length: number, out: Uint8Array, outOffset = 0): void {
    finish(this.inner, BLOCK_BYTES, message, length, innerHash, 0);
    finish(this.outer, BLOCK_BYTES, innerHash, SHA256_BYTES, out, outOffset);
  }
}

/**
 * Compares this module with `node:crypto` on inputs of every padding case (empty, one byte short of the length
 * field, exactly a block, two blocks, long) under `key`, and throws on any difference. WebhookKeyDigester runs it
 * for every secret when it is made: a wrong digest would make every stored key unreadable, so a process whose engine
 * computes this code differently refuses to start instead of writing anything.
 */
export function assertSameAsNodeCrypto(key: Uint8Array): void {
  const prepared = new HmacSha256Key(key);
  const out = new Uint8Array(SHA256_BYTES);
  for (const length of [0, 1, 31, 32, 55, 56, 63, 64, 65, 119, 120, 200, 1000]) {
    const message = Uint8Array.from({ length }, (_, index) => (index * 131 + length) & 0xff);
    sha256Into(message, length, out);
    const hashed = Buffer.from(out).equals(createHash('sha256').update(message).digest());
    prepared.macInto(message, length, out);
    const maced = Buffer.from(out).equals(createHmac('sha256', key).update(message).digest());
    if (!hashed || !maced) {
      throw new Error(`the SHA-256 of this process differs from node:crypto on ${length} bytes: refusing to digest`);
    }
  }
}

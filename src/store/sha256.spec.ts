import { createHash, createHmac } from 'node:crypto';
import { assertSameAsNodeCrypto, HmacSha256Key, sha256Into } from './sha256';

/** A small deterministic generator (xorshift32), so a failure names a corpus entry that can be found again. */
function randomBytes(seed: number): (length: number) => Buffer {
  let state = seed >>> 0 || 1;
  return (length) => {
    const bytes = Buffer.alloc(length);
    for (let index = 0; index < length; index++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      bytes[index] = state & 0xff;
    }
    return bytes;
  };
}

function sha256(bytes: Uint8Array): string {
  const out = Buffer.alloc(32);
  sha256Into(bytes, bytes.length, out);
  return out.toString('hex');
}

describe('sha256Into', () => {
  it('gives the FIPS 180-4 example hashes', () => {
    expect(sha256(Buffer.from(''))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256(Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('agrees with node:crypto at every length from 0 to 300 bytes and on longer inputs', () => {
    // Every padding case: the tail alone in the last block, the length spilling into a second one, whole blocks.
    const random = randomBytes(0x5eed);
    const lengths = [...Array.from({ length: 301 }, (_, length) => length), 511, 512, 513, 1000, 4096, 70_000];
    for (const length of lengths) {
      const bytes = random(length);
      expect([length, sha256(bytes)]).toEqual([length, createHash('sha256').update(bytes).digest('hex')]);
    }
  });

  it('hashes only the first `length` bytes and writes at the offset asked for', () => {
    const bytes = Buffer.from('webhook-key-and-then-other-bytes');
    const out = Buffer.alloc(40, 0xaa);
    sha256Into(bytes, 11, out, 4);
    expect(out.subarray(4, 36)).toEqual(createHash('sha256').update(bytes.subarray(0, 11)).digest());
    expect([...out.subarray(0, 4), ...out.subarray(36)]).toEqual(Array(8).fill(0xaa));
  });
});

describe('HmacSha256Key', () => {
  function mac(key: Uint8Array, message: Uint8Array): string {
    const out = Buffer.alloc(32);
    new HmacSha256Key(key).macInto(message, message.length, out);
    return out.toString('hex');
  }

  it('gives the RFC 4231 test vectors', () => {
    expect(mac(Buffer.alloc(20, 0x0b), Buffer.from('Hi There'))).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
    expect(mac(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    // Test case 6: a key longer than a block is hashed first.
    expect(mac(Buffer.alloc(131, 0xaa), Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'))).toBe(
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    );
  });

  it('agrees with node:crypto for keys and messages of every length around the block size', () => {
    const random = randomBytes(0xc0ffee);
    const lengths = [0, 1, 31, 32, 43, 55, 56, 63, 64, 65, 119, 120, 128, 200, 1000];
    for (const keyLength of lengths) {
      for (const messageLength of lengths) {
        const key = random(keyLength);
        const message = random(messageLength);
        expect([keyLength, messageLength, mac(key, message)]).toEqual([
          keyLength,
          messageLength,
          createHmac('sha256', key).update(message).digest('hex'),
        ]);
      }
    }
  });

  it('gives the same MAC every time: a prepared key is never changed by use', () => {
    const key = new HmacSha256Key(Buffer.from('secret'));
    const first = Buffer.alloc(32);
    const again = Buffer.alloc(32);
    key.macInto(Buffer.from('one'), 3, first);
    key.macInto(Buffer.from('another message'), 15, Buffer.alloc(32));
    key.macInto(Buffer.from('one'), 3, again);
    expect(again).toEqual(first);
  });
});

describe('assertSameAsNodeCrypto', () => {
  it('passes for this implementation, for short and long (pre-hashed) keys', () => {
    expect(() => assertSameAsNodeCrypto(Buffer.from('a secret'))).not.toThrow();
    expect(() => assertSameAsNodeCrypto(Buffer.alloc(100, 7))).not.toThrow();
  });
});

import { createHash, createHmac } from 'node:crypto';
import { KeyLayout, WebhookKeyDigester } from './key-layout';

/** The part of a key Redis Cluster hashes (the first non-empty `{...}`), or null when the whole key is hashed. */
function hashTag(key: string): string | null {
  const open = key.indexOf('{');
  if (open < 0) return null;
  const close = key.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return null;
  return key.slice(open + 1, close);
}

const DATUM_ID = '6f1c0f5e-8a53-4a8e-9f7e-2d1f0b6c3a11';

describe('KeyLayout', () => {
  describe.each(['sg:', 'tenant-a.prod:'])('with prefix %p', (prefix) => {
    const keys = new KeyLayout(prefix);
    const digest = new WebhookKeyDigester('webhook-secret-0123456789').digest('wh_7f3c9a1e2b4d');

    it('starts every key with the prefix', () => {
      for (const key of [
        keys.record(digest),
        keys.datum(DATUM_ID),
        keys.datumRefs(DATUM_ID),
        keys.ttlPolicies('acme'),
        keys.ttlPolicyPattern(),
      ]) {
        expect(key.startsWith(prefix)).toBe(true);
      }
    });

    it('puts a datum body and its references under the same hash tag', () => {
      expect(hashTag(keys.datum(DATUM_ID))).toBe(DATUM_ID);
      expect(hashTag(keys.datumRefs(DATUM_ID))).toBe(DATUM_ID);
    });

    it('keeps a datum body and its references apart', () => {
      expect(keys.datum(DATUM_ID)).not.toBe(keys.datumRefs(DATUM_ID));
    });

    it('gives different datums different hash tags', () => {
      expect(hashTag(keys.datum('datum-1'))).not.toBe(hashTag(keys.datum('datum-2')));
    });

    it('gives record keys no hash tag, so they spread over the slots', () => {
      expect(hashTag(keys.record(digest))).toBeNull();
      expect(keys.record(digest)).not.toMatch(/[{}]/);
    });

    it('gives different digests different record keys', () => {
      expect(keys.record('digest-a')).not.toBe(keys.record('digest-b'));
    });

    it('matches every account’s policy key with the policy pattern', () => {
      const pattern = keys.ttlPolicyPattern();
      expect(pattern.endsWith('*')).toBe(true);
      expect(keys.ttlPolicies('acme').startsWith(pattern.slice(0, -1))).toBe(true);
    });
  });
});

describe('WebhookKeyDigester', () => {
  const secret = 'webhook-secret-0123456789';
  const webhookKey = 'wh_7f3c9a1e2b4d';

  it('gives the base64url HMAC-SHA256 of the SHA-256 of the key under the secret', () => {
    const keyHash = createHash('sha256').update(webhookKey).digest();
    const expected = createHmac('sha256', secret).update(keyHash).digest('base64url');
    expect(new WebhookKeyDigester(secret).digest(webhookKey)).toBe(expected);
  });

  it('keeps the stored format: a fixed key and secret give the same digest and mask in every version', () => {
    // Stored data is found by these values: a change here makes every stored key unreadable.
    expect(new WebhookKeyDigester(secret).digested(webhookKey)).toEqual({
      digests: ['WNiAdbK_UjElocHE1uENCRvsS3DRi683OZtmqM2UWUg'],
      mask: 'AsYT-A8HBxJotJxnbH5pyHCRbgkMydvAocWI05Zhulg',
    });
  });

  it('gives 43 base64url characters', () => {
    expect(new WebhookKeyDigester(secret).digest(webhookKey)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('is stable for the same key and secret', () => {
    const digester = new WebhookKeyDigester(secret);
    expect(digester.digest(webhookKey)).toBe(digester.digest(webhookKey));
  });

  it('differs per secret', () => {
    expect(new WebhookKeyDigester(secret).digest(webhookKey)).not.toBe(
      new WebhookKeyDigester('another-secret-0123456789').digest(webhookKey),
    );
  });

  it('differs per key', () => {
    const digester = new WebhookKeyDigester(secret);
    expect(digester.digest('wh_7f3c9a1e2b4d')).not.toBe(digester.digest('wh_7f3c9a1e2b4e'));
  });

  it('never contains the plaintext key', () => {
    const longKey = 'k'.repeat(512);
    const digester = new WebhookKeyDigester(secret);
    expect(digester.digest(webhookKey)).not.toContain(webhookKey);
    expect(digester.digest(longKey)).not.toContain('kkkkkkkk');
    expect(new KeyLayout('sg:').record(digester.digest(webhookKey))).not.toContain(webhookKey);
  });

  it('under rotation, writes under the newest secret and lists the digest under every secret, newest first', () => {
    const older = 'older-secret-0123456789';
    const rotating = new WebhookKeyDigester(secret, older);
    expect(rotating.secretCount).toBe(2);
    expect(rotating.digest(webhookKey)).toBe(new WebhookKeyDigester(secret).digest(webhookKey));
    expect(rotating.digests(webhookKey)).toEqual([
      new WebhookKeyDigester(secret).digest(webhookKey),
      new WebhookKeyDigester(older).digest(webhookKey),
    ]);
  });

  it('refuses to digest in a process without a secret', () => {
    expect(() => new WebhookKeyDigester().digest(webhookKey)).toThrow('no webhook-key secret is configured');
  });

  it('gives node:crypto’s digests and masks on a fuzzed corpus of keys: ASCII, multi-byte, lone surrogates, long', () => {
    // The digester hashes in ./sha256, not node:crypto: the stored format is the formula below, computed by either.
    const keyMaterial = ['wh_', 'é', '€', '😀', '\ud800', '\udfff', 'x', '0123456789abcdef'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const keys = Array.from({ length: 400 }, (_, index) => {
      const parts = Array.from({ length: index % 70 }, () => keyMaterial[next() % keyMaterial.length]);
      return parts.join('') + String(index);
    });
    keys.push('k'.repeat(1024), 'é'.repeat(1024), '😀'.repeat(700), 'k'.repeat(5000));
    const secrets = [secret, 'é-secret', 's'.repeat(100)];
    const digester = new WebhookKeyDigester(...secrets);
    for (const key of keys) {
      const keyHash = createHash('sha256').update(key).digest();
      const digests = secrets.map((one) => createHmac('sha256', one).update(keyHash).digest('base64url'));
      const padKey = createHmac('sha256', secret).update('setgetapi key mask').digest();
      const pad = createHmac('sha256', padKey).update(digests[0]).digest();
      const mask = Buffer.from(keyHash.map((byte, index) => byte ^ pad[index])).toString('base64url');
      expect([key, digester.digested(key)]).toEqual([key, { digests, mask }]);
      expect(digester.digests(key)).toEqual(digests);
      expect(digester.unmask(digests[0], mask)).toEqual({ secretIndex: 0, keyHash });
    }
  });

  describe('mask', () => {
    const older = 'older-secret-0123456789';
    const keyHash = createHash('sha256').update(webhookKey).digest();

    it('is SHA-256(key) XOR HMAC(HMAC(secret, label), digest), in 43 base64url characters', () => {
      const { digests, mask } = new WebhookKeyDigester(secret).digested(webhookKey);
      const padKey = createHmac('sha256', secret).update('setgetapi key mask').digest();
      const pad = createHmac('sha256', padKey).update(digests[0]).digest();
      const expected = Buffer.from(keyHash.map((byte, index) => byte ^ pad[index])).toString('base64url');
      expect(mask).toBe(expected);
      expect(mask).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('gives back SHA-256 of the key, never the key, and under which listed secret the digest is', () => {
      const { digests, mask } = new WebhookKeyDigester(older).digested(webhookKey);
      const rotating = new WebhookKeyDigester(secret, older);
      const unmasked = rotating.unmask(digests[0], mask);
      expect(unmasked).toEqual({ secretIndex: 1, keyHash });
      expect(unmasked?.keyHash.toString('utf8')).not.toContain(webhookKey);
      // From it, the key's digest and mask under the newest secret, exactly as a write under that secret makes them.
      const newest = rotating.newestOf(keyHash);
      expect(newest).toEqual({
        digest: rotating.digest(webhookKey),
        mask: new WebhookKeyDigester(secret).digested(webhookKey).mask,
      });
      expect(rotating.unmask(newest.digest, newest.mask)).toEqual({ secretIndex: 0, keyHash });
    });

    it('gives nothing under a wrong secret, for another digest, or for a damaged mask', () => {
      const { digests, mask } = new WebhookKeyDigester(older).digested(webhookKey);
      expect(new WebhookKeyDigester(secret).unmask(digests[0], mask)).toBeNull();
      const other = new WebhookKeyDigester(older).digest('wh_other');
      expect(new WebhookKeyDigester(older).unmask(other, mask)).toBeNull();
      const flipped = Buffer.from(mask, 'base64url');
      flipped[0] ^= 1;
      expect(new WebhookKeyDigester(older).unmask(digests[0], flipped.toString('base64url'))).toBeNull();
      expect(new WebhookKeyDigester(older).unmask(digests[0], 'short')).toBeNull();
    });

    it('differs per secret and per key, and never contains the key', () => {
      const one = new WebhookKeyDigester(secret).digested(webhookKey).mask;
      expect(new WebhookKeyDigester(older).digested(webhookKey).mask).not.toBe(one);
      expect(new WebhookKeyDigester(secret).digested('wh_other').mask).not.toBe(one);
      expect(one).not.toContain(webhookKey);
    });
  });
});

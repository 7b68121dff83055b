import { resolveTtl } from './ttl-resolution';

const DEFAULT_TTL = 604800;

describe('resolveTtl', () => {
  it('uses the flow policy over the account policy', () => {
    expect(resolveTtl({ flow: 60, account: 3600 }, DEFAULT_TTL)).toEqual({ ttlSeconds: 60, source: 'flow' });
  });

  it('uses a flow policy that never expires over an account number', () => {
    expect(resolveTtl({ flow: null, account: 3600 }, DEFAULT_TTL)).toEqual({ ttlSeconds: null, source: 'flow' });
  });

  it('uses a flow number over an account policy that never expires', () => {
    expect(resolveTtl({ flow: 60, account: null }, DEFAULT_TTL)).toEqual({ ttlSeconds: 60, source: 'flow' });
  });

  it('uses the flow policy when there is no account policy', () => {
    expect(resolveTtl({ flow: 60 }, DEFAULT_TTL)).toEqual({ ttlSeconds: 60, source: 'flow' });
  });

  it('uses the account policy when there is no flow policy', () => {
    expect(resolveTtl({ account: 3600 }, DEFAULT_TTL)).toEqual({ ttlSeconds: 3600, source: 'account' });
  });

  it('uses an account policy that never expires over the default', () => {
    expect(resolveTtl({ account: null }, DEFAULT_TTL)).toEqual({ ttlSeconds: null, source: 'account' });
  });

  it('uses the default when no policy applies', () => {
    expect(resolveTtl({}, DEFAULT_TTL)).toEqual({ ttlSeconds: DEFAULT_TTL, source: 'default' });
  });

  it('passes on a default that never expires', () => {
    expect(resolveTtl({}, null)).toEqual({ ttlSeconds: null, source: 'default' });
  });
});

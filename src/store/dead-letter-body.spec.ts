import { WITHHELD_BODY, withoutWebhookKeys, WITHHELD_KEY } from './dead-letter-body';

describe('withoutWebhookKeys', () => {
  it('replaces every webhook key and leaves the rest of the text byte for byte', () => {
    const body =
      '{"accountId":"acme","flowId":"f","webhookKeys":["wh-secret-key-1","wh-secret-key-2"],' +
      '"data":{"n":1.50,"big":123456789012345678901234567890,"note":"wh-secret-key-1"}}';
    const kept = withoutWebhookKeys(body);
    expect(kept).not.toContain('wh-secret-key');
    expect(kept).toContain(`"webhookKeys":["${WITHHELD_KEY}","${WITHHELD_KEY}"]`);
    expect(kept).toContain('"n":1.50,"big":123456789012345678901234567890');
  });

  it('withholds a body whose keys are written with escapes it cannot replace', () => {
    expect(withoutWebhookKeys('{"webhookKeys":["wh-\\u0041bcdefgh"]}')).toBe(WITHHELD_BODY);
  });

  it('keeps a body that names no keys as it is', () => {
    for (const body of ['not json', '[1,2]', 'null', '{"webhookKeys":"x"}'])
      expect(withoutWebhookKeys(body)).toBe(body);
  });
});

import { parseKeyReply } from './record-store';

describe('parseKeyReply', () => {
  it('splits a key reply of apply-record-keys.lua into its six parts', () => {
    expect(parseKeyReply('applied||0|0|1764563040123456|')).toEqual(['applied', '', '', '0', '0', '1764563040123456']);
    expect(parseKeyReply('kept|tok1|1|0:1|17|m-old')).toEqual(['kept', 'm-old', 'tok1', '1', '0:1', '17']);
    expect(parseKeyReply('stale||0|1||')).toEqual(['stale', '', '', '0', '1', '']);
  });

  it('takes everything after the fifth separator as the previous datum, separators included', () => {
    expect(parseKeyReply('applied|t|0|0|5|a|b|c')).toEqual(['applied', 'a|b|c', 't', '0', '0', '5']);
  });

  it('refuses a reply with fewer parts', () => {
    expect(() => parseKeyReply('applied|||')).toThrow(/replied/);
  });
});

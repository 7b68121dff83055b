import { maxReceiveCountOf, reasonThatFits } from './ingest-queue';

describe('maxReceiveCountOf', () => {
  it('reads maxReceiveCount from the RedrivePolicy JSON, as a string or a number', () => {
    expect(maxReceiveCountOf('{"deadLetterTargetArn":"arn:x","maxReceiveCount":"5"}')).toBe(5);
    expect(maxReceiveCountOf('{"deadLetterTargetArn":"arn:x","maxReceiveCount":3}')).toBe(3);
  });

  it('is null (no limit) without a redrive policy or a usable count', () => {
    expect(maxReceiveCountOf(undefined)).toBeNull();
    expect(maxReceiveCountOf('')).toBeNull();
    expect(maxReceiveCountOf('{"deadLetterTargetArn":"arn:x"}')).toBeNull();
    expect(maxReceiveCountOf('{"maxReceiveCount":"0"}')).toBeNull();
  });
});

describe('reasonThatFits', () => {
  it('keeps a reason of up to 1024 characters beside a small body', () => {
    expect(reasonThatFits('x'.repeat(2000), '{}')).toHaveLength(1024);
  });

  it('shortens the reason so that body and attributes stay within 256 KiB, down to nothing', () => {
    expect(Buffer.byteLength(reasonThatFits('é'.repeat(1000), 'b'.repeat(262_144 - 256 - 301)))).toBeLessThanOrEqual(
      301,
    );
    expect(reasonThatFits('any reason', 'b'.repeat(262_000))).toBe('');
  });
});

import { maxReceiveCountOf } from './ingest-queue';

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

import { ReplyError } from 'ioredis';
import { DependencyUnavailableError } from '../common/dependency-unavailable.error';
import { passingReplyCode, redisUnavailable } from './redis-errors';

describe('passingReplyCode', () => {
  it.each([
    ['CLUSTERDOWN The cluster is down', 'CLUSTERDOWN'],
    ['TRYAGAIN Multiple keys request during rehashing of slot', 'TRYAGAIN'],
    // What a node answers for a slot it no longer serves, while a failover or resharding settles.
    ['MOVED 11554 127.0.0.1:7002', 'MOVED'],
    ['ASK 11554 127.0.0.1:7002', 'ASK'],
    ['NOREPLICAS Not enough good replicas to write.', 'NOREPLICAS'],
  ])('%s is passing', (message, code) => {
    expect(passingReplyCode(new Error(message))).toBe(code);
  });

  it('leaves a script error as ours', () => {
    expect(passingReplyCode(new Error('ERR user_script:1: Script attempted to access a non local key'))).toBeNull();
  });
});

describe('redisUnavailable', () => {
  it('turns a MOVED reply into Redis being unavailable, which the worker holds messages for', () => {
    expect(() => redisUnavailable(new ReplyError('MOVED 11554 127.0.0.1:7002'))).toThrow(DependencyUnavailableError);
  });

  it('rethrows a reply that is not passing as it is', () => {
    expect(() => redisUnavailable(new ReplyError('WRONGTYPE Operation against a key'))).toThrow(ReplyError);
  });
});

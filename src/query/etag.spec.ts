import { etagMatches } from './etag';

const ETAG = '"Qm9keUV0YWctMTIzNDU2Nzg5MA"';

describe('etagMatches', () => {
  it.each([
    ['the exact tag', ETAG],
    ['the tag with surrounding spaces', `  ${ETAG} `],
    ['a list holding the tag', `"other", ${ETAG}`],
    ['a list without spaces', `"other",${ETAG},"third"`],
    ['the wildcard', '*'],
    ['the wildcard in a list', '"other", *'],
    ['the weak form of the tag', `W/${ETAG}`],
    ['the weak form in a list', `"other", W/${ETAG}`],
  ])('matches %s', (_case, ifNoneMatch) => {
    expect(etagMatches(ifNoneMatch, ETAG)).toBe(true);
  });

  it.each([
    ['another tag', '"Qm9keUV0YWctMTIzNDU2Nzg5MQ"'],
    ['a list of other tags', '"a", "b", W/"c"'],
    ['the tag without quotes', ETAG.slice(1, -1)],
    ['the tag in another case', ETAG.toLowerCase()],
    ['a lower-case weak prefix', `w/${ETAG}`],
    ['the weak form of another tag', 'W/"Qm9keUV0YWctMTIzNDU2Nzg5MQ"'],
    ['an empty header', ''],
    ['a prefix of the tag', ETAG.slice(0, -2) + '"'],
  ])('does not match %s', (_case, ifNoneMatch) => {
    expect(etagMatches(ifNoneMatch, ETAG)).toBe(false);
  });
});

import fc from 'fast-check';
import { IsInt, IsString, ValidateNested, validateSync } from 'class-validator';
import { brokenMessage, validMessage } from '../../test/support/fuzz-arbitraries';
import { compileValidator } from './compiled-validator';
import { RecordMessageDto } from './record-message.dto';
import { recordMessageDtoAccepts } from './record-message.validation';

/** A RecordMessageDto holding the fields of `fields` as validateRecordMessage builds it. */
function candidateOf(fields: Record<string, unknown>): RecordMessageDto {
  const candidate = new RecordMessageDto();
  for (const [field, value] of Object.entries(fields)) {
    Object.defineProperty(candidate, field, { value, enumerable: true, writable: true, configurable: true });
  }
  return candidate;
}

const validateSyncAccepts = (candidate: object) => validateSync(candidate, { stopAtFirstError: true }).length === 0;

/** Any value for any field of the contract, and whole random objects: the corpus beyond the contract's generators. */
const anyField = fc.oneof(
  fc.constantFrom('op', 'accountId', 'flowId', 'webhookKeys', 'data', 'version'),
  fc.string({ maxLength: 8 }),
);
const strayMessage = fc.dictionary(
  anyField,
  fc.oneof(fc.anything(), fc.array(fc.string({ minLength: 6, maxLength: 14 }))),
  {
    maxKeys: 7,
  },
);
/** A valid message with one field replaced by any value at all. */
const mutatedMessage = fc
  .tuple(validMessage('acme'), anyField, fc.anything())
  .map(([message, field, value]) => ({ ...message, [field]: value }));

describe('compileValidator', () => {
  it('agrees with validateSync on RecordMessageDto over a fuzzed corpus of valid, broken and random messages', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.oneof(validMessage('acme'), brokenMessage('acme'), mutatedMessage, strayMessage), (fields) => {
        const candidate = candidateOf(fields);
        const expected = validateSyncAccepts(candidate);
        expect(recordMessageDtoAccepts(candidate)).toBe(expected);
        if (expected) accepted++;
        else refused++;
      }),
      { numRuns: 5000 },
    );
    // The corpus exercises both answers in earnest.
    expect(accepted).toBeGreaterThan(500);
    expect(refused).toBeGreaterThan(500);
  });

  it('applies @ValidateIf and a per-constraint validateIf as validateSync does', () => {
    class Example {
      @IsString({ validateIf: (object: Example) => object.kind !== 'free' })
      label?: unknown;

      @IsInt()
      kind?: unknown;
    }
    const accepts = compileValidator(Example);
    for (const fields of [{ label: 'a', kind: 1 }, { label: 3, kind: 1 }, { label: 3, kind: 'free' }, { kind: 2 }]) {
      const example = Object.assign(new Example(), fields);
      expect(accepts(example)).toBe(validateSyncAccepts(example));
    }
  });

  it('refuses to compile a decorator kind it does not reproduce, rather than skip it', () => {
    class Nested {
      @ValidateNested()
      inner?: unknown;
    }
    class Each {
      @IsString({ each: true })
      items?: unknown;
    }
    class Grouped {
      @IsString({ groups: ['admin'] })
      name?: unknown;
    }
    expect(() => compileValidator(Nested)).toThrow(/not compiled/);
    expect(() => compileValidator(Each)).toThrow(/not compiled/);
    expect(() => compileValidator(Grouped)).toThrow(/not compiled/);
  });
});

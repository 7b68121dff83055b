import { getMetadataStorage, ValidationArguments, ValidationTypes } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';

/** Whether an instance of the compiled class passes every one of its class-validator decorators. */
export type CompiledValidator = (object: object) => boolean;

type Check = (value: unknown, object: object) => boolean;

interface PropertyChecks {
  property: string;
  /** `@ValidateIf` conditions: the property is validated only when all hold. */
  conditions: Array<(object: object, value: unknown) => boolean>;
  checks: Check[];
}

/**
 * Compiles the class-validator decorators of `target` into one plain function that answers only "valid or not",
 * with the decorators' own constraint functions and `validateSync`'s rules (no groups, `@ValidateIf` skips a
 * property's checks). `validateSync` rebuilds its plan from the metadata on every call, creates an error object per
 * property and arguments per check; this does that once, so a valid message costs only its checks. It names no
 * problem: a caller runs `validateSync` for the reasons when this says no.
 *
 * Built from the same metadata as `validateSync`, so the two cannot drift apart unnoticed: a decorator kind this
 * does not reproduce (nested objects, `each`, groups, `always`, async constraints, ...) makes compilation throw at
 * start-up, and a fuzz test (record-message.validation.spec.ts) checks that both agree on every generated message.
 */
export function compileValidator(target: new () => object): CompiledValidator {
  const storage = getMetadataStorage();
  const metadatas = storage.getTargetValidationMetadatas(target, '', false, false, undefined);
  if (metadatas.length === 0) throw new Error(`${target.name} declares no validation`);
  const byProperty = new Map<string, PropertyChecks>();
  for (const metadata of metadatas) {
    refuseUnsupported(target, metadata);
    let entry = byProperty.get(metadata.propertyName);
    if (entry === undefined) {
      entry = { property: metadata.propertyName, conditions: [], checks: [] };
      byProperty.set(metadata.propertyName, entry);
    }
    if (metadata.type === ValidationTypes.CONDITIONAL_VALIDATION) {
      entry.conditions.push(metadata.constraints[0] as (object: object, value: unknown) => boolean);
      continue;
    }
    for (const constraint of storage.getTargetValidatorConstraints(metadata.constraintCls)) {
      if (constraint.async)
        throw new Error(`${target.name}.${metadata.propertyName}: async constraints are not compiled`);
      const instance = constraint.instance;
      const { propertyName, constraints, validateIf } = metadata;
      entry.checks.push((value, object) => {
        if (validateIf !== undefined && !validateIf(object, value)) return true;
        const args: ValidationArguments = {
          targetName: target.name,
          property: propertyName,
          object,
          value,
          constraints,
        };
        return instance.validate(value, args) === true;
      });
    }
  }
  const properties = [...byProperty.values()];
  return (object) => {
    for (const { property, conditions, checks } of properties) {
      const value = (object as Record<string, unknown>)[property];
      if (!conditions.every((condition) => condition(object, value))) continue;
      for (const check of checks) if (!check(value, object)) return false;
    }
    return true;
  };
}

function refuseUnsupported(target: new () => object, metadata: ValidationMetadata): void {
  const where = `${target.name}.${metadata.propertyName}`;
  if (metadata.type !== ValidationTypes.CUSTOM_VALIDATION && metadata.type !== ValidationTypes.CONDITIONAL_VALIDATION) {
    throw new Error(`${where}: validation of type ${metadata.type} is not compiled`);
  }
  if (metadata.each === true) throw new Error(`${where}: "each" validation is not compiled`);
  if (metadata.always === true || (metadata.groups ?? []).length > 0) {
    throw new Error(`${where}: validation groups are not compiled`);
  }
}

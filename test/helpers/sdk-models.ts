import { readFileSync } from 'node:fs';
import { isPlainObject } from '../../src/support/objects.js';

/** The official SDK's operations and response models (see test/fixtures/README.md for its origin). */
export interface SdkModels {
  source: string;
  operations: Array<{ operation: string; method: string; path: string; query: string[]; response: string }>;
  models: Record<string, Record<string, string>>;
}

export function loadSdkModels(): SdkModels {
  return JSON.parse(readFileSync(new URL('../fixtures/codearts-sdk-models.json', import.meta.url), 'utf8')) as SdkModels;
}

/** The operation whose path template (`/v1/job/{job_id}/running-status`) matches a concrete GET path. */
export function operationFor(models: SdkModels, method: string, path: string): SdkModels['operations'][number] | undefined {
  const bare = path.split('?')[0] ?? path;
  return models.operations.find((op) => {
    if (op.method !== method) return false;
    const pattern = new RegExp(`^${op.path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    return pattern.test(bare);
  });
}

const ARRAY = /^Array<(.+)>$/;
const MAP = /^\{ \[key: string\]: (.+); \}$/;

/**
 * Checks a JSON value against a model of the file: every field must be declared by the model (an
 * extra field is a problem) and have the declared JSON type, nested models, arrays and maps
 * included. A missing field is fine: the SDK declares no required fields ("a real answer can omit
 * any of them"). `null` is accepted for any field: the documented record-info example carries
 * `"record_status": null` and `"error": null`, which the SDK reads as absent.
 * Returns one line per problem, each naming the JSON path; empty when the value conforms.
 */
export function checkAgainstModel(models: SdkModels, type: string, value: unknown, at = '$'): string[] {
  if (value === null) return [];
  const array = ARRAY.exec(type);
  if (array) {
    if (!Array.isArray(value)) return [`${at}: expected an array (${type}), got ${describe(value)}`];
    return value.flatMap((item, i) => checkAgainstModel(models, array[1] ?? '', item, `${at}[${i}]`));
  }
  const map = MAP.exec(type);
  if (map) {
    if (!isPlainObject(value)) return [`${at}: expected an object map (${type}), got ${describe(value)}`];
    return Object.entries(value).flatMap(([key, item]) => checkAgainstModel(models, map[1] ?? '', item, `${at}.${key}`));
  }
  switch (type) {
    case 'string':
    case 'number':
    case 'boolean':
      return typeof value === type ? [] : [`${at}: expected ${type}, got ${describe(value)}`];
    case 'object':
      return typeof value === 'object' ? [] : [`${at}: expected an object, got ${describe(value)}`];
    default:
      return checkModel(models, type, value, at);
  }
}

function checkModel(models: SdkModels, name: string, value: unknown, at: string): string[] {
  const model = models.models[name];
  if (!model) return [`${at}: the models file has no model or type '${name}'`];
  if (!isPlainObject(value)) return [`${at}: expected a ${name} object, got ${describe(value)}`];
  const problems: string[] = [];
  for (const [field, item] of Object.entries(value)) {
    const declared = model[field];
    if (declared === undefined) problems.push(`${at}.${field}: not a field of ${name}`);
    else problems.push(...checkAgainstModel(models, declared, item, `${at}.${field}`));
  }
  return problems;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  return `${typeof value} ${JSON.stringify(value)?.slice(0, 40) ?? ''}`.trim();
}

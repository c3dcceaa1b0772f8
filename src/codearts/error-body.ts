import { isPlainObject } from '../support/objects.js';

/**
 * Error bodies of CodeArts, its API gateway and IAM (docs/design.md, "Talking to CodeArts"):
 * `{error_code, error_msg}`, `{err_code, err_msg}`, a nested `{error: {code, message}}`, an
 * `{error: "text"}`, or any of these as a JSON string holding JSON.
 */

/** JSON, or a JSON string that itself contains JSON (CodeArts does send those); undefined when the text is not JSON. */
export function parseJsonBody(text: string): unknown {
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  } catch {
    return undefined;
  }
}

/** The error code and message a parsed body carries, if any (trimmed, never empty). */
export function errorFields(body: unknown): { code: string | undefined; message: string | undefined } {
  if (!isPlainObject(body)) return { code: undefined, message: undefined };
  const nested = isPlainObject(body.error) ? body.error : undefined;
  const code = firstText(body.error_code, body.err_code, nested?.code, nested?.error_code, body.code);
  const message = firstText(body.error_msg, body.err_msg, nested?.message, nested?.error_msg, body.message, body.error);
  return { code, message };
}

function firstText(...values: unknown[]): string | undefined {
  for (const value of values) if (typeof value === 'string' && value.trim() !== '') return value.trim();
  return undefined;
}

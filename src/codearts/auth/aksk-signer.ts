import { createHash, createHmac } from 'node:crypto';
import type { SignableRequest } from './types.js';

/**
 * Huawei Cloud `SDK-HMAC-SHA256` request signing (API notes §4.3), written against the official
 * `AKSKSigner` of @huaweicloud/huaweicloud-sdk-core and proven byte-identical to it by
 * test/unit/signer-equivalence.test.ts. Pure functions: the gateway simulator verifies with the
 * same canonicalisation.
 */

export const SIGNING_ALGORITHM = 'SDK-HMAC-SHA256';
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface AkskCredentials {
  accessKey: string;
  secretKey: string;
}

/** `YYYYMMDDTHHMMSSZ` in UTC, the `X-Sdk-Date` format. */
export function formatSdkDate(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** Unix milliseconds of an `X-Sdk-Date` value, or undefined when it is not in that format. */
export function parseSdkDate(value: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  return formatSdkDate(new Date(ms)) === value ? ms : undefined;
}

/** RFC 3986 percent-encoding: only `A-Z a-z 0-9 - _ . ~` stay literal (the signer's table). */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Canonical URI from a path as it travels on the wire (percent-encoded, e.g. `URL.pathname`).
 * The gateway decodes the path and re-encodes every segment, so `%20`, `%C3%A9` and a literal `é`
 * all canonicalise alike; the result always ends with `/`.
 */
export function canonicalUri(wirePath: string): string {
  const path = decodePercent(wirePath || '/');
  const encoded = path.split('/').map(encodeRfc3986).join('/');
  return encoded.endsWith('/') ? encoded : `${encoded}/`;
}

/**
 * Canonical query from a raw query string (with or without `?`): parameters decoded as the
 * gateway does (`+` is a space), keys sorted, repeated keys' values sorted, everything re-encoded.
 */
export function canonicalQueryString(rawQuery: string): string {
  const grouped = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(rawQuery)) {
    const values = grouped.get(key);
    if (values) values.push(value);
    else grouped.set(key, [value]);
  }
  const parts: string[] = [];
  for (const [key, values] of [...grouped].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const value of values.sort()) parts.push(`${encodeRfc3986(key)}=${encodeRfc3986(value)}`);
  }
  return parts.join('&');
}

/**
 * `name:value\n` lines and the `;`-joined name list for the given headers (all of them are
 * signed). Values are trimmed because that is what fetch and the gateway's HTTP stack see.
 */
export function canonicalHeaders(headers: Record<string, string>): { canonical: string; signedHeaders: string } {
  const entries = Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value.trim()] as const);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    canonical: entries.map(([name, value]) => `${name}:${value}\n`).join(''),
    signedHeaders: entries.map(([name]) => name).join(';'),
  };
}

export function sha256Hex(data: string): string {
  return createHash('sha256').update(data, 'utf8').digest('hex');
}

/** The payload hash: `X-Sdk-Content-Sha256` when given (e.g. `UNSIGNED-PAYLOAD`), else SHA-256 of the body. */
export function payloadHash(headers: Record<string, string>, body: string | undefined): string {
  const declared = findHeader(headers, 'x-sdk-content-sha256');
  if (declared) return declared;
  return body ? sha256Hex(body) : EMPTY_BODY_SHA256;
}

export interface CanonicalParts {
  method: string;
  /** Path as sent, percent-encoded. */
  path: string;
  /** Raw query string as sent. */
  query: string;
  /** Exactly the headers to sign (names in any case). */
  headers: Record<string, string>;
  payloadHash: string;
}

export function canonicalRequest(parts: CanonicalParts): { canonical: string; signedHeaders: string } {
  const { canonical: headerBlock, signedHeaders } = canonicalHeaders(parts.headers);
  const canonical = [
    parts.method.toUpperCase(),
    canonicalUri(parts.path),
    canonicalQueryString(parts.query),
    headerBlock,
    signedHeaders,
    parts.payloadHash,
  ].join('\n');
  return { canonical, signedHeaders };
}

export function stringToSign(sdkDate: string, canonical: string): string {
  return `${SIGNING_ALGORITHM}\n${sdkDate}\n${sha256Hex(canonical)}`;
}

export function computeSignature(secretKey: string, toSign: string): string {
  return createHmac('sha256', secretKey).update(toSign, 'utf8').digest('hex');
}

/**
 * Signs a request and returns the headers to add: `X-Sdk-Date` and `Authorization`.
 *
 * Signed: every header in `request.headers` (send exactly those values), plus `host` and
 * `x-sdk-date`. `host` is `url.host` unless the caller passes one; it is not returned, because
 * fetch sets Host itself (from `url.host`) and ignores any we give it. An `authorization` or
 * `x-sdk-date` already in `request.headers` is replaced, not signed.
 */
export function signRequest(request: SignableRequest, credentials: AkskCredentials, now: Date): Record<string, string> {
  const sdkDate = formatSdkDate(now);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    const lower = name.toLowerCase();
    if (lower !== 'authorization' && lower !== 'x-sdk-date') headers[lower] = value;
  }
  if (!('host' in headers)) headers.host = request.url.host;
  headers['x-sdk-date'] = sdkDate;

  const { canonical, signedHeaders } = canonicalRequest({
    method: request.method,
    path: request.url.pathname,
    query: request.url.search,
    headers,
    payloadHash: payloadHash(headers, request.body),
  });
  const signature = computeSignature(credentials.secretKey, stringToSign(sdkDate, canonical));
  return {
    'X-Sdk-Date': sdkDate,
    Authorization: `${SIGNING_ALGORITHM} Access=${credentials.accessKey}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

/** A header's value by its lower-case name, whatever the case it was set in. */
export function findHeader(headers: Record<string, string>, lowerName: string): string | undefined {
  for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() === lowerName) return value;
  return undefined;
}

/** Decodes valid `%XX` runs as UTF-8 and leaves anything malformed as it is, like a lenient server. */
function decodePercent(value: string): string {
  return value.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

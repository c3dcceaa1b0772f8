import { timingSafeEqual } from 'node:crypto';
import {
  SIGNING_ALGORITHM,
  canonicalRequest,
  computeSignature,
  parseSdkDate,
  payloadHash,
  stringToSign,
} from '../codearts/auth/aksk-signer.js';

/** A request as it arrived: raw path and query, header names lower-case (node:http's `req.headers`). */
export interface ReceivedRequest {
  method: string;
  /** Path as received, still percent-encoded, without the query. */
  path: string;
  /** Raw query string without `?` ('' when none). */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  body?: string;
}

export interface VerifyOptions {
  /** access key -> secret key */
  keys: Record<string, string>;
  /** Unix seconds. */
  now: () => number;
  /** @default 900 (the gateway's 15 minutes) */
  maxSkewSeconds?: number;
}

export type VerifyResult = { ok: true } | { ok: false; status: 401 | 403; code: string; message: string };

/**
 * Checks an `SDK-HMAC-SHA256` signature the way API Gateway does. Codes and messages follow the
 * gateway's documented ones: APIGW.0301 for a wrong signature or unknown AK, APIGW.0303 for an
 * `X-Sdk-Date` more than 15 minutes off. Messages never contain the secret key.
 */
export function verifySignedRequest(request: ReceivedRequest, options: VerifyOptions): VerifyResult {
  const headers = flattenHeaders(request.headers);
  const authorization = headers.authorization;
  if (!authorization) return reject('APIGW.0301', 'Incorrect IAM authentication information: Authorization header not found');
  const parsed = parseAuthorization(authorization);
  if (!parsed) return reject('APIGW.0301', 'Incorrect IAM authentication information: unsupported Authorization format');

  const secretKey = Object.hasOwn(options.keys, parsed.accessKey) ? options.keys[parsed.accessKey] : undefined;
  if (secretKey === undefined) {
    return reject('APIGW.0301', `Incorrect IAM authentication information: Get secretKey failed,ak:${parsed.accessKey},err:ak not exist`);
  }

  const sdkDate = headers['x-sdk-date'];
  const signedAt = sdkDate === undefined ? undefined : parseSdkDate(sdkDate);
  if (sdkDate === undefined || signedAt === undefined || !parsed.signedHeaders.includes('x-sdk-date')) {
    return reject('APIGW.0301', 'Incorrect IAM authentication information: x-sdk-date missing, malformed or not signed');
  }
  const skewSeconds = Math.abs(options.now() - signedAt / 1000);
  if (skewSeconds > (options.maxSkewSeconds ?? 900)) {
    return reject('APIGW.0303', `Incorrect IAM authentication information: signature expired, x-sdk-date:${sdkDate}`);
  }

  const signed: Record<string, string> = {};
  for (const name of parsed.signedHeaders) {
    const value = headers[name];
    if (value === undefined) {
      return reject('APIGW.0301', `Incorrect IAM authentication information: verify aksk signature fail, signed header '${name}' missing`);
    }
    signed[name] = value;
  }
  const { canonical } = canonicalRequest({
    method: request.method,
    path: request.path,
    query: request.query,
    headers: signed,
    payloadHash: payloadHash(signed, request.body),
  });
  const expected = Buffer.from(computeSignature(secretKey, stringToSign(sdkDate, canonical)), 'utf8');
  const given = Buffer.from(parsed.signature, 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return reject('APIGW.0301', 'Incorrect IAM authentication information: verify aksk signature fail');
  }
  return { ok: true };
}

function reject(code: string, message: string): VerifyResult {
  return { ok: false, status: 401, code, message };
}

function parseAuthorization(value: string): { accessKey: string; signedHeaders: string[]; signature: string } | undefined {
  const match = new RegExp(`^${SIGNING_ALGORITHM} Access=([^,\\s]+), ?SignedHeaders=([^,\\s]+), ?Signature=([0-9a-f]+)$`).exec(
    value.trim(),
  );
  if (!match) return undefined;
  const [, accessKey = '', signedHeaders = '', signature = ''] = match;
  return { accessKey, signedHeaders: signedHeaders.split(';'), signature };
}

function flattenHeaders(headers: ReceivedRequest['headers']): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

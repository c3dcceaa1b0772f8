import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { EnvHttpProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { redactUrlCredentials } from '../support/redact.js';
import { describeNetworkFailure, type NetworkFailure } from './network-errors.js';

/**
 * The one HTTP path to CodeArts and IAM: undici's own fetch with a dispatcher that honours
 * HTTP(S)_PROXY / NO_PROXY (or `codearts.proxy`) and an extra CA bundle. Every exchange, body
 * included, ends within `requestTimeoutMs`; bodies are capped; redirects are never followed.
 */
export interface TransportOptions {
  requestTimeoutMs: number;
  /** Larger bodies fail the attempt (a record is a few KB). */
  maxResponseBytes: number;
  /** `codearts.proxy`: used for http and https targets instead of HTTP(S)_PROXY; NO_PROXY still applies. */
  proxy?: string | undefined;
  /** PEM file of extra CA certificates, added to Node's default roots. */
  caFile?: string | undefined;
  /** Where HTTP_PROXY / HTTPS_PROXY / NO_PROXY / NODE_EXTRA_CA_CERTS are read. @default process.env */
  env?: NodeJS.ProcessEnv;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal | undefined;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

export type TransportFailureKind = 'timeout' | 'network' | 'too_large' | 'redirect';

/** An exchange that gave no usable HTTP answer. Message and fields never carry the URL's path, query or headers. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  readonly kind: TransportFailureKind;
  readonly host: string;
  readonly port: number;
  /** The system or undici error code, e.g. ECONNREFUSED, UND_ERR_SOCKET. */
  readonly errno: string | undefined;
  readonly syscall: string | undefined;
  /** The HTTP status, for `too_large` and `redirect`. */
  readonly status: number | undefined;
  /** For `redirect`: the host the server pointed at (never the full URL). */
  readonly locationHost: string | undefined;

  constructor(init: {
    kind: TransportFailureKind;
    url: URL;
    detail: string;
    failure?: NetworkFailure;
    status?: number;
    locationHost?: string;
  }) {
    super(init.detail);
    this.kind = init.kind;
    this.host = init.url.hostname;
    this.port = portOf(init.url);
    this.errno = init.failure?.code;
    this.syscall = init.failure?.syscall;
    this.status = init.status;
    this.locationHost = init.locationHost;
  }
}

export function isTransportError(error: unknown): error is TransportError {
  return error instanceof TransportError;
}

export interface HttpTransport {
  send(request: HttpRequest): Promise<HttpAnswer>;
  /** For logs: the proxy in use (credentials masked) or "direct". */
  describe(): string;
  /** Ends every connection, aborting exchanges still in flight. */
  close(): Promise<void>;
}

export function createHttpTransport(options: TransportOptions): HttpTransport {
  const env = options.env ?? process.env;
  const proxy = resolveProxy(options.proxy, env);
  const ca = options.caFile ? caBundle(options.caFile, env) : undefined;
  const tls = ca ? { ca } : {};
  const timeout = options.requestTimeoutMs;
  const dispatcher: Dispatcher = new EnvHttpProxyAgent({
    httpProxy: proxy.http,
    httpsProxy: proxy.https,
    noProxy: proxy.noProxy,
    // undici's own limits only as a backstop: the abort signal below ends the whole exchange.
    headersTimeout: timeout + 1000,
    bodyTimeout: timeout + 1000,
    connect: { ...tls, timeout },
    requestTls: tls,
    proxyTls: tls,
    // Plain http targets are forwarded as absolute-URI requests, as proxies expect; https tunnels.
    proxyTunnel: false,
  });
  const secrets = proxy.secrets;

  return {
    send: (request) => exchange(request, { dispatcher, timeout, maxBytes: options.maxResponseBytes, secrets }),
    describe: () => proxy.description,
    // destroy, not close: a shutdown must not wait for an IAM refresh or a slow answer still in flight.
    close: () => dispatcher.destroy(),
  };
}

interface ExchangeSettings {
  dispatcher: Dispatcher;
  timeout: number;
  maxBytes: number;
  /** Proxy credentials that must never appear in an error message. */
  secrets: string[];
}

async function exchange(request: HttpRequest, settings: ExchangeSettings): Promise<HttpAnswer> {
  const { url } = request;
  const deadline = linkedDeadline(request.signal, settings.timeout);
  try {
    const response = await undiciFetch(url, {
      method: request.method,
      headers: request.headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
      // A followed redirect would carry the credentials in the headers to wherever it points.
      redirect: 'manual',
      dispatcher: settings.dispatcher,
      signal: deadline.signal,
    });
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel().catch(() => undefined);
      throw redirectError(url, response.status, response.headers.get('location'));
    }
    const text = await readCapped(response, url, settings.maxBytes);
    return { status: response.status, headers: response.headers as unknown as Headers, text };
  } catch (error) {
    if (request.signal?.aborted) throw request.signal.reason;
    if (error instanceof TransportError) throw error;
    if (deadline.timedOut()) {
      throw new TransportError({
        kind: 'timeout',
        url,
        detail: `no answer within ${settings.timeout} ms (headers and whole body) from ${hostPort(url)}`,
      });
    }
    const failure = describeNetworkFailure(error, url, settings.secrets);
    throw new TransportError({ kind: 'network', url, detail: failure.message, failure });
  } finally {
    deadline.dispose();
  }
}

/**
 * A signal that aborts at the deadline or with the caller's. Hand-made rather than
 * AbortSignal.any: the caller's signal lives as long as the process (the schedule's), and every
 * request would hang a dependent signal on it; here the listener is removed when the exchange ends.
 */
function linkedDeadline(
  caller: AbortSignal | undefined,
  timeoutMs: number,
): { signal: AbortSignal; timedOut: () => boolean; dispose: () => void } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timeout after ${timeoutMs} ms`));
  }, timeoutMs);
  const onAbort = () => controller.abort(caller?.reason);
  if (caller?.aborted) onAbort();
  else caller?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose: () => {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onAbort);
    },
  };
}

/** The body as text, or a `too_large` failure as soon as it passes `maxBytes` (nothing more is read). */
async function readCapped(response: Awaited<ReturnType<typeof undiciFetch>>, url: URL, maxBytes: number): Promise<string> {
  const tooLarge = () =>
    new TransportError({
      kind: 'too_large',
      url,
      status: response.status,
      detail: `HTTP ${response.status} body larger than ${maxBytes} bytes (codearts.max_response_bytes)`,
    });
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = (await reader.read()) as { done: boolean; value: Uint8Array | undefined };
    if (done || !value) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  // As fetch's text(): UTF-8, a byte order mark dropped.
  return new TextDecoder('utf-8').decode(Buffer.concat(chunks));
}

function redirectError(url: URL, status: number, location: string | null): TransportError {
  let locationHost: string | undefined;
  try {
    locationHost = location ? new URL(location, url).host : undefined;
  } catch {
    locationHost = undefined;
  }
  const where = locationHost ? `to host ${locationHost}` : 'without a usable Location';
  return new TransportError({
    kind: 'redirect',
    url,
    status,
    ...(locationHost ? { locationHost } : {}),
    detail: `HTTP ${status} redirect ${where}: not followed (credentials stay with ${url.host}); the configured endpoint is probably wrong`,
  });
}

interface ResolvedProxy {
  http: string;
  https: string;
  noProxy: string;
  description: string;
  secrets: string[];
}

/** Lower-case variables win, as with curl; `codearts.proxy` wins over both. */
function resolveProxy(configured: string | undefined, env: NodeJS.ProcessEnv): ResolvedProxy {
  const http = configured ?? env.http_proxy ?? env.HTTP_PROXY ?? '';
  const https = configured ?? env.https_proxy ?? env.HTTPS_PROXY ?? http;
  const noProxy = env.no_proxy ?? env.NO_PROXY ?? '';
  const secrets = [http, https].flatMap(credentialsOf);
  const used = [...new Set([http, https].filter(Boolean))].map(redactUrlCredentials);
  const description = used.length === 0 ? 'direct' : `proxy ${used.join(', ')}${noProxy ? ` (NO_PROXY ${noProxy})` : ''}`;
  return { http, https, noProxy, description, secrets };
}

function credentialsOf(proxyUrl: string): string[] {
  try {
    const url = new URL(proxyUrl);
    return [url.password, decodeURIComponent(url.password), url.username].filter((value) => value.length > 0);
  } catch {
    return [];
  }
}

/** Node's default roots plus NODE_EXTRA_CA_CERTS (an explicit `ca` replaces both) plus the file. */
function caBundle(caFile: string, env: NodeJS.ProcessEnv): string[] {
  const extra = env.NODE_EXTRA_CA_CERTS ? readOptional(env.NODE_EXTRA_CA_CERTS) : undefined;
  return [...rootCertificates, ...(extra ? [extra] : []), readFileSync(caFile, 'utf8')];
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

function hostPort(url: URL): string {
  return `${url.hostname}:${portOf(url)}`;
}

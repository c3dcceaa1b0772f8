#!/usr/bin/env node
/**
 * `node dist/healthcheck.js [--config FILE]`: the container image's HEALTHCHECK. GETs /healthz on
 * the address the config file sets (server.host and server.port, ${VAR} expanded), so it follows a
 * changed port. Exit 0 on 200, 1 otherwise with one line on stderr (Docker keeps it in the health
 * log). Reads only the `server` section of the config: no secret files, no validation of the rest.
 */

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import { interpolateTree } from './config/interpolate.js';
import { resolveConfigPath } from './config/load.js';
import { DEFAULT_PORT } from './config/types.js';
import { isPlainObject } from './support/objects.js';

const TIMEOUT_MS = 3000;
/** Addresses that mean "every interface": probe loopback instead. */
const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::', '[::]']);

/** The /healthz URL of the exporter configured by this config text. Throws a readable Error. */
export function healthzUrl(configText: string, env: NodeJS.ProcessEnv): string {
  const doc = parseDocument(configText, { logLevel: 'error' });
  const [error] = doc.errors;
  // yaml's messages quote the source, which may hold a secret: position and code only.
  if (error) throw new Error(`yaml: line ${error.linePos?.[0].line ?? '?'}, column ${error.linePos?.[0].col ?? '?'} (${error.code})`);
  const tree: unknown = doc.toJS() ?? {};
  const server = isPlainObject(tree) ? tree.server : undefined;
  const { value, problems } = interpolateTree(server ?? {}, env);
  if (problems.length > 0) throw new Error(`server: ${problems.map((p) => p.message).join('; ')}`);
  if (!isPlainObject(value)) throw new Error('server: expected a mapping');
  const port = value.port === undefined ? DEFAULT_PORT : Number(value.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('server.port: expected 1..65535 (port 0 cannot be probed)');
  const host = typeof value.host === 'string' || typeof value.host === 'number' ? String(value.host) : '';
  const target = WILDCARD_HOSTS.has(host) ? '127.0.0.1' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${target}:${port}/healthz`;
}

async function main(argv: string[]): Promise<number> {
  let url = '';
  try {
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } }, strict: true });
    const path = resolveConfigPath(values.config, process.env);
    url = healthzUrl(readFileSync(path, 'utf8'), process.env);
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (response.status === 200) return 0;
    process.stderr.write(`healthcheck: ${url} answered ${response.status}\n`);
    return 1;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    process.stderr.write(`healthcheck: ${url ? `${url}: ` : ''}${(error as Error).message}${cause ? ` (${cause})` : ''}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

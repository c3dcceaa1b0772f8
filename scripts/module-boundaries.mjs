// Which parts of src/ may import which: the dependency direction of docs/design.md ("Module map").
// A part is a directory under src/ or a file directly in it (named without its extension). Read by
// eslint.config.js (as no-restricted-imports patterns) and by test/unit/module-boundaries.test.ts
// (which resolves every import of every file under src/ and checks it against this table).

/** Parts that may import each part (besides itself). Everything not listed is forbidden. */
export const ALLOWED = {
  // Pure types and functions: no other part, no package, no Node module.
  domain: [],
  // Small helpers with no knowledge of the project: clock, sleep, abort, events, cron periods, plain objects, URL redaction.
  support: [],
  config: ['domain', 'support'],
  log: ['config', 'support'],
  // The only code that speaks HTTP to CodeArts and IAM; never the store, the metrics or prom-client.
  codearts: ['domain', 'support'],
  state: ['domain', 'support'],
  // Renders plain data; never HTTP.
  metrics: ['domain', 'support'],
  server: ['metrics', 'domain', 'support'],
  poller: ['codearts', 'state', 'metrics', 'domain', 'support', 'log'],
  simulator: ['codearts', 'domain', 'support'],
  // The history command's work: reads CodeArts through the client, renders with the live metrics code.
  backfill: ['codearts', 'config', 'domain', 'metrics', 'support'],
  // The composition root and its helpers: everything except the command line.
  wiring: ['codearts', 'config', 'domain', 'log', 'metrics', 'poller', 'server', 'state', 'support', 'version'],
  exporter: ['codearts', 'config', 'domain', 'log', 'metrics', 'poller', 'server', 'state', 'support', 'version', 'wiring'],
  commands: ['backfill', 'codearts', 'config', 'domain', 'exporter', 'log', 'server', 'simulator', 'state', 'support', 'version', 'wiring'],
  bench: [
    'codearts',
    'config',
    'domain',
    'exporter',
    'log',
    'metrics',
    'poller',
    'server',
    'simulator',
    'state',
    'support',
    'version',
    'wiring',
  ],
  demo: ['config', 'exporter', 'log', 'simulator', 'support'],
  healthcheck: ['config', 'support'],
  cli: ['commands'],
  version: [],
};

/** Packages (and Node modules) a part must never import, beyond what ALLOWED implies. */
export const FORBIDDEN_PACKAGES = {
  codearts: ['prom-client'],
  metrics: ['express', 'undici', 'node:http', 'node:https', 'node:net'],
  state: ['prom-client', 'undici'],
};

/** Parts that may import no package at all. */
export const PURE = ['domain'];

export const PARTS = Object.keys(ALLOWED);
/** Parts that are a single file directly in src/ rather than a directory. */
export const FILE_PARTS = ['exporter', 'demo', 'healthcheck', 'cli', 'version'];

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * no-restricted-imports settings per part: relative specifiers that reach a forbidden part
 * (`../codearts/client.js` from a directory, `./codearts/client.js` from a file in src/), and the
 * forbidden packages.
 */
export function importRules() {
  return PARTS.map((part) => {
    const isFile = FILE_PARTS.includes(part);
    const files = isFile ? [`src/${part}.ts`] : [`src/${part}/**/*.ts`];
    const forbidden = PARTS.filter((other) => other !== part && !ALLOWED[part].includes(other));
    const prefix = isFile ? '^\\./' : '^(\\.\\./)+';
    const patterns = forbidden.map((other) => ({
      regex: `${prefix}${escape(other)}(/|\\.js$)`,
      message: `src/${part} must not import src/${other} (docs/design.md, "Module map")`,
    }));
    const packages = PURE.includes(part) ? ['^[^.]'] : (FORBIDDEN_PACKAGES[part] ?? []).map((name) => `^${escape(name)}(/|$)`);
    for (const regex of packages)
      patterns.push({ regex, message: `src/${part} must not import this package (docs/design.md, "Module map")` });
    return { files, patterns };
  });
}

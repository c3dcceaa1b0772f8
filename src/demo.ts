import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { parseConfigText } from './config/load.js';
import { Exporter } from './exporter.js';
import { createLogger } from './log/logger.js';
import { createSimulator } from './simulator/index.js';

/**
 * `npm run demo`: the simulator (12 jobs with history, a new build every 20-75 s per job, real
 * timestamps) and
 * the exporter polling it every 5 s, both on free loopback ports. Ctrl-C stops both.
 */
const NAMES = [
  'backend-ci',
  'frontend-ci',
  'mobile-android',
  'mobile-ios',
  'docs',
  'nightly-e2e',
  'release',
  'payments-svc',
  'search-svc',
  'infra-terraform',
  'data-pipeline',
  'lint-only',
];

async function main(): Promise<void> {
  const simulator = await createSimulator({
    seed: 42,
    clock: 'realtime',
    speed: 1,
    jobs: NAMES.map((name, i) => ({
      id: `de${String(i + 1).padStart(30, '0')}`,
      name,
      history: 30 + i * 7,
      buildEverySeconds: 20 + i * 5,
    })),
  });
  const stateDir = mkdtempSync(join(tmpdir(), 'codearts-demo-'));
  const config = parseConfigText(
    stringify({
      codearts: { endpoint: simulator.url, auth: { token: 'sim-token-NOT-A-SECRET' } },
      poll: { schedule: '*/5 * * * * *', start_at: 'latest' },
      jobs: simulator.jobs().map((job) => ({ id: job.id, name: job.name })),
      server: { host: '127.0.0.1', port: 0 },
      state: { path: join(stateDir, 'state.json') },
      log: { level: 'warn' },
    }),
    { env: process.env },
  );
  const logger = createLogger(config.log.level, pino.destination({ dest: 1, sync: true }), config.log.format);
  const exporter = await Exporter.create({ config, logger });
  const { url } = await exporter.start();
  printAddresses(url, simulator.url);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await exporter.stop();
  await simulator.close();
  rmSync(stateDir, { recursive: true, force: true });
  process.stdout.write('demo stopped\n');
}

function printAddresses(url: string, simulatorUrl: string): void {
  const lines = [
    '',
    'codearts-build-exporter demo is running',
    `  metrics:        ${url}/metrics`,
    `  landing page:   ${url}/`,
    `  readiness:      ${url}/readyz`,
    `  fake CodeArts:  ${simulatorUrl} (12 jobs, new builds every 20-75 s)`,
    'Press Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});

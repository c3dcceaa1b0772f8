#!/usr/bin/env node
/**
 * Renders a picture of each bundled Grafana dashboard from real data, for docs/dashboards.md:
 *
 *   npm run build && node scripts/render-dashboard-images.mjs            # ~9 minutes
 *   node scripts/render-dashboard-images.mjs --data /tmp/dashboards.json # re-render saved data only
 *
 * The bundled simulator (13 jobs in 2 projects, two of them both named backend-ci, 60x speed, its
 * clock set so that it reaches "now" at the end) feeds the built exporter (`node dist/cli.js run`), which a real Prometheus (Debian's
 * `prometheus`) scrapes with config/alerts.yml loaded; 429 and 500 answers are injected for a
 * while. Then every panel query of grafana/dashboards/*.json is run against that Prometheus
 * (variables and Grafana macros substituted for the run's window) and the panels are drawn at their
 * grid positions with Chart.js in headless Chromium (`apt-get install chromium`), which takes the
 * screenshot: docs/images/dashboard-<uid>.png, reduced to 256 colours with `pngquant`
 * (`apt-get install pngquant`). Nothing here is part of `npm test`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { flattenPanels, renderDashboardPage } from './dashboard-page.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUN_SECONDS = Number(process.env.RENDER_SECONDS ?? 480);
const SPEED = 60;
const EXPORTER_JOB = 'codearts-build-exporter';
const JOB_NAMES = [
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
  // The same name as the first job, in the other project: the dashboards keep them apart by job_id.
  'backend-ci',
];
/** Two CodeArts projects the jobs are discovered from (the `project` label); every third job is in the second. */
const PROJECTS = ['de000000000000000000000000000a01', 'de000000000000000000000000000a02'];
const projectOf = (i) => (i === JOB_NAMES.length - 1 || i % 3 === 2 ? PROJECTS[1] : PROJECTS[0]);
const jobIdOf = (i) => `de${String(i + 1).padStart(30, '0')}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const dataArg = process.argv.indexOf('--data');
  const savedData = dataArg > 0 ? process.argv[dataArg + 1] : undefined;
  const dashboards = loadDashboards();
  const data = savedData && existsFile(savedData) ? JSON.parse(readFileSync(savedData, 'utf8')) : await collect(dashboards);
  if (savedData && !existsFile(savedData)) writeFileSync(savedData, JSON.stringify(data));
  const outDir = join(ROOT, 'docs', 'images');
  mkdirSync(outDir, { recursive: true });
  for (const dashboard of dashboards) {
    const file = join(outDir, `dashboard-${dashboard.uid}.png`);
    screenshot(renderDashboardPage(dashboard, data[dashboard.uid], chartJsUrl()), file);
    console.log(`${file}: ${Math.round(statSync(file).size / 1024)} KB`);
  }
}

function existsFile(path) {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function loadDashboards() {
  const dir = join(ROOT, 'grafana', 'dashboards');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')));
}

function chartJsUrl() {
  return pathToFileURL(join(ROOT, 'node_modules', 'chart.js', 'dist', 'chart.umd.min.js')).href;
}

/** Runs simulator, exporter and Prometheus for RUN_SECONDS, then answers every panel query. */
async function collect(dashboards) {
  const { createSimulator } = await import(pathToFileURL(join(ROOT, 'dist', 'simulator', 'index.js')).href);
  const dir = mkdtempSync(join(tmpdir(), 'cbe-render-'));
  const now = Math.floor(Date.now() / 1000);
  const simulator = await createSimulator({
    seed: 42,
    clock: 'realtime',
    speed: SPEED,
    // The virtual clock reaches the wall clock when the run ends, so "time since" panels make sense.
    startTime: now - RUN_SECONDS * SPEED,
    jobs: JOB_NAMES.map((name, i) => ({
      id: jobIdOf(i),
      name,
      projectId: projectOf(i),
      history: 20 + i * 3,
      buildEverySeconds: 900 + i * 300,
    })),
  });
  const children = [];
  try {
    const exporterPort = await freePort();
    const config = [
      'codearts:',
      `  endpoint: ${simulator.url}`,
      '  auth: { token: sim-token-NOT-A-SECRET }',
      '  max_requests_per_second: 200',
      '  retry: { retries: 3, min_delay: 50ms, max_delay: 500ms }',
      "poll: { schedule: '*/2 * * * * *', start_at: latest, discovery_interval: 1m }",
      'jobs: []',
      'projects:',
      ...PROJECTS.map((id) => `  - { id: ${id} }`),
      `server: { host: 127.0.0.1, port: ${exporterPort} }`,
      `state: { path: ${join(dir, 'state.json')} }`,
      'log: { level: warn }',
    ].join('\n');
    writeFileSync(join(dir, 'exporter.yml'), `${config}\n`);
    children.push(
      spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'run', '--config', join(dir, 'exporter.yml')], { stdio: 'inherit' }),
    );
    const prometheus = await startPrometheus(dir, `127.0.0.1:${exporterPort}`, children);
    const start = Date.now() / 1000;
    console.log(`collecting for ${RUN_SECONDS} s (simulator ${simulator.url}, Prometheus ${prometheus})`);
    await sleep((RUN_SECONDS / 4) * 1000);
    simulator.inject('429', { probability: 0.08 });
    simulator.inject('500', { probability: 0.05 });
    await sleep((RUN_SECONDS / 8) * 1000);
    simulator.clearFaults();
    await sleep(((RUN_SECONDS * 5) / 8) * 1000);
    const end = Date.now() / 1000;
    const data = {};
    for (const dashboard of dashboards) data[dashboard.uid] = await queryPanels(prometheus, dashboard, start, end);
    return data;
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await simulator.close();
    await sleep(500);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function startPrometheus(dir, target, children) {
  const port = await freePort();
  const rules = join(dir, 'alerts.yml');
  writeFileSync(rules, readFileSync(join(ROOT, 'config', 'alerts.yml')));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 5s, evaluation_interval: 5s }',
      `rule_files: ['${rules}']`,
      'scrape_configs:',
      `  - job_name: ${EXPORTER_JOB}`,
      `    static_configs: [{ targets: ['${target}'] }]`,
    ].join('\n'),
  );
  const child = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: 'inherit' },
  );
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) return url;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error('prometheus did not become ready');
}

/** Every target of every panel: instant for single-value panels and tables, else a range query. */
async function queryPanels(prometheus, dashboard, start, end) {
  const out = {};
  for (const panel of flattenPanels(dashboard.panels)) {
    if (!panel.targets) continue;
    const instant = ['stat', 'table', 'piechart', 'bargauge', 'gauge'].includes(panel.type);
    const bars = panel.fieldConfig?.defaults?.custom?.drawStyle === 'bars' || panel.type === 'heatmap';
    const step = bars ? Math.max(15, Math.round((end - start) / 8)) : Math.max(5, Math.round((end - start) / 120));
    out[panel.id] = [];
    for (const target of panel.targets) {
      const expr = substitute(target.expr, dashboard, { range: Math.ceil(end - start), step });
      const params =
        instant || target.instant
          ? { query: expr, time: String(end) }
          : { query: expr, start: String(start + step), end: String(end), step: String(step) };
      const path = instant || target.instant ? 'query' : 'query_range';
      const response = await (await fetch(`${prometheus}/api/v1/${path}`, { method: 'POST', body: new URLSearchParams(params) })).json();
      if (response.status !== 'success') console.warn(`${dashboard.uid} "${panel.title}" ${target.refId}: ${response.error}`);
      out[panel.id].push({ refId: target.refId, legendFormat: target.legendFormat, result: response.data?.result ?? [] });
    }
  }
  return out;
}

/** Grafana's variables and macros for this run ($job_id: the first job, as the job detail would show; every project). */
function substitute(expr, dashboard, { range, step }) {
  const values = {
    job: EXPORTER_JOB,
    instance: '.+',
    job_id: jobIdOf(0),
    project: '.*',
    datasource: 'prometheus',
    __range: `${range}s`,
    __range_s: String(range),
    __range_ms: String(range * 1000),
    __rate_interval: '1m',
    __interval: `${step}s`,
    __interval_ms: String(step * 1000),
  };
  for (const variable of dashboard.templating?.list ?? []) if (!(variable.name in values)) values[variable.name] = '.+';
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (match, a, b, c) => values[a ?? b ?? c] ?? match);
}

function screenshot(html, file) {
  const dir = mkdtempSync(join(tmpdir(), 'cbe-shot-'));
  const page = join(dir, 'page.html');
  writeFileSync(page, html.html);
  try {
    execFileSync(
      'chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--hide-scrollbars',
        '--force-device-scale-factor=1',
        `--window-size=${html.width},${html.height}`,
        '--virtual-time-budget=5000',
        `--screenshot=${file}`,
        pathToFileURL(page).href,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    // 256 colours lose nothing visible on flat panels and keep each picture well under 200 KB.
    execFileSync('pngquant', ['--quality=70-95', '--speed=1', '--force', '--output', file, file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

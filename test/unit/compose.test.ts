import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import { DEFAULT_PORT } from '../../src/config/schema.js';
import { DEFAULT_TOKEN, createSimulator } from '../../src/simulator/index.js';
import { REPO_ROOT } from '../helpers/promql.js';

interface Service {
  image?: string;
  build?: string | { context?: string };
  profiles?: string[];
  command?: string[] | string;
  environment?: Record<string, string> | string[];
  ports?: Array<string | number>;
  expose?: Array<string | number>;
  volumes?: Array<string | { type?: string; source?: string; target?: string }>;
  depends_on?: string[] | Record<string, unknown>;
  healthcheck?: { disable?: boolean; test?: unknown };
  entrypoint?: string[];
  networks?: Record<string, { aliases?: string[] } | null> | string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parseYaml(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as Compose;
const service = (name: string): Service => {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};

interface Mount {
  bind: boolean;
  source: string;
  target: string;
}
function mounts(s: Service): Mount[] {
  return (s.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return { bind: v.type === 'bind', source: v.source ?? '', target: v.target ?? '' };
    const [source = '', target = ''] = v.split(':');
    return { bind: /^[./~]/.test(source), source, target };
  });
}
const mountTarget = (s: Service, source: string): string | undefined => mounts(s).find((m) => m.source === source)?.target;
const mountSource = (s: Service, target: string): string | undefined => mounts(s).find((m) => m.target === target)?.source;
/** Container port of "host:container" / "ip:host:container" / "container". */
const containerPorts = (s: Service): number[] => (s.ports ?? []).map((p) => Number(String(p).split(':').at(-1)?.split('/')[0]));
const aliases = (s: Service): string[] =>
  Array.isArray(s.networks) ? [] : Object.values(s.networks ?? {}).flatMap((n) => n?.aliases ?? []);
const argv = (s: Service): string[] => (Array.isArray(s.command) ? s.command : (s.command ?? '').split(/\s+/).filter(Boolean));
const flag = (args: string[], name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};

const dockerfile = DockerfileParser.parse(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const imageCmd = JSON.parse(dockerfile.getCMDs().at(-1)?.getArgumentsContent() ?? '[]') as string[];

describe('docker-compose.yml: files and images', () => {
  it('references only files and directories that exist in the repository', () => {
    let binds = 0;
    for (const [name, s] of Object.entries(compose.services)) {
      for (const mount of mounts(s)) {
        if (!mount.bind) {
          expect(compose.volumes, `${name}: named volume ${mount.source}`).toHaveProperty(mount.source);
          continue;
        }
        binds++;
        const path = join(REPO_ROOT, mount.source);
        expect(existsSync(path), `${name}: ${mount.source} does not exist`).toBe(true);
        // A file mounted onto a file path (…/name.ext) must be a file, not a directory.
        if (/\.[a-z]+$/.test(mount.target)) expect(statSync(path).isFile(), `${name}: ${mount.source}`).toBe(true);
      }
      const context = typeof s.build === 'string' ? s.build : s.build?.context;
      if (context !== undefined) expect(existsSync(join(REPO_ROOT, context, 'Dockerfile')), `${name}: build context`).toBe(true);
    }
    expect(binds).toBeGreaterThanOrEqual(6);
  });

  it('pins the Prometheus and Grafana images to versions', () => {
    expect(service('prometheus').image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(service('grafana').image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
  });
});

describe('docker-compose.yml: exporter', () => {
  const exporter = service('exporter');

  it('builds the image from this repository and runs its exact CMD', () => {
    expect(exporter.build).toBe('.');
    expect(argv(exporter)).toEqual(imageCmd);
  });

  it('publishes the default port and mounts the config where the command reads it', () => {
    expect(containerPorts(exporter)).toEqual([DEFAULT_PORT]);
    expect(mountTarget(exporter, './config/exporter.yml')).toBe(flag(imageCmd, '--config'));
    expect(mountSource(exporter, '/app/data')).toBeDefined();
    expect(dockerfile.getInstructions().some((i) => i.getKeyword() === 'VOLUME' && i.getArgumentsContent()?.includes('/app/data'))).toBe(
      true,
    );
  });

  it('passes CODEARTS_TOKEN from the environment', () => {
    const env = exporter.environment ?? {};
    const keys = Array.isArray(env) ? env.map((e) => e.split('=')[0]) : Object.keys(env);
    expect(keys).toContain('CODEARTS_TOKEN');
  });

  it('agrees with the example exporter config on the port', () => {
    const config = parseYaml(readFileSync(join(REPO_ROOT, 'config/exporter.yml'), 'utf8')) as { server?: { port?: number } };
    expect(config.server?.port ?? DEFAULT_PORT).toBe(DEFAULT_PORT);
  });
});

describe('docker-compose.yml: Prometheus', () => {
  const prometheus = service('prometheus');
  const prometheusYml = parseYaml(readFileSync(join(REPO_ROOT, 'config/prometheus.yml'), 'utf8')) as {
    rule_files: string[];
    scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }> }>;
  };

  it('loads config/prometheus.yml and the alert rules from where the config expects them', () => {
    const configTarget = mountTarget(prometheus, './config/prometheus.yml');
    expect(configTarget).toBe('/etc/prometheus/prometheus.yml');
    expect(argv(prometheus)).toContain(`--config.file=${configTarget}`);
    const alertsTarget = mountTarget(prometheus, './config/alerts.yml');
    for (const ruleFile of prometheusYml.rule_files) {
      expect(posix.join(posix.dirname(configTarget!), ruleFile)).toBe(alertsTarget);
    }
    expect(containerPorts(prometheus)).toContain(9090);
  });

  it('scrapes the exporter service name at the default port, and exactly one exporter per profile answers to it', () => {
    const job = prometheusYml.scrape_configs.find((j) => j.job_name === 'codearts-build-exporter');
    const targets = job?.static_configs?.flatMap((c) => c.targets) ?? [];
    expect(targets).toEqual([`exporter:${DEFAULT_PORT}`]);
    const answering = Object.entries(compose.services).filter(([name, s]) => name === 'exporter' || aliases(s).includes('exporter'));
    expect(answering.map(([name]) => name).sort()).toEqual(['exporter', 'exporter-demo']);
    // Their profiles are disjoint, so `exporter` never resolves to two containers.
    const [a, b] = answering.map(([, s]) => new Set(s.profiles ?? []));
    expect(a!.size > 0 && b!.size > 0).toBe(true);
    expect([...a!].some((p) => b!.has(p))).toBe(false);
    for (const [, s] of answering) expect(containerPorts(s)).toEqual([DEFAULT_PORT]);
  });
});

describe.each(['grafana', 'grafana-demo'])('docker-compose.yml: %s', (name) => {
  const grafana = service(name);

  it('mounts provisioning and dashboards, and the home dashboard exists', () => {
    expect(mountTarget(grafana, './grafana/provisioning')).toBe('/etc/grafana/provisioning');
    const dashboardsTarget = mountTarget(grafana, './grafana/dashboards');
    expect(dashboardsTarget).toBe('/var/lib/grafana/dashboards/codearts');
    const env = grafana.environment as Record<string, string>;
    const home = env.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    expect(home?.startsWith(`${dashboardsTarget}/`)).toBe(true);
    expect(existsSync(join(REPO_ROOT, 'grafana/dashboards', posix.basename(home!)))).toBe(true);
    expect(containerPorts(grafana)).toContain(3000);
  });
});

describe('docker-compose.yml: no open doors', () => {
  /** Runs a Grafana service's `sh -c` entrypoint as the container would, with Grafana's /run.sh replaced by `replacement`. */
  const runEntrypoint = (name: string, env: Record<string, string>, replacement: string) => {
    const entrypoint = service(name).entrypoint ?? [];
    expect(entrypoint.slice(0, 2)).toEqual(['sh', '-c']);
    // Compose turns $$ into $; the script must end by handing over to Grafana's own entrypoint.
    const script = entrypoint[2]!.replaceAll('$$', '$');
    expect(script).toMatch(/exec \/run\.sh$/);
    return spawnSync('sh', ['-c', script.replace(/exec \/run\.sh$/, replacement)], {
      env: { PATH: process.env.PATH, ...env },
      encoding: 'utf8',
    });
  };

  it('publishes every port on 127.0.0.1 only', () => {
    const published = Object.entries(compose.services).flatMap(([name, s]) => (s.ports ?? []).map((p) => [name, String(p)]));
    expect(published.length).toBeGreaterThanOrEqual(5);
    for (const [name, port] of published) expect(port, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  it('runs one Grafana per profile, each with its own data volume', () => {
    expect(service('grafana').profiles).toEqual(['live']);
    expect(service('grafana-demo').profiles).toEqual(['demo']);
    expect(mountSource(service('grafana'), '/var/lib/grafana')).not.toBe(mountSource(service('grafana-demo'), '/var/lib/grafana'));
  });

  it('live: Grafana takes the admin password from GRAFANA_ADMIN_PASSWORD, with no default, and refuses to start without it', () => {
    const env = service('grafana').environment as Record<string, string>;
    expect(env.GF_SECURITY_ADMIN_PASSWORD).toBe('${GRAFANA_ADMIN_PASSWORD:-}');
    expect(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')).not.toMatch(/GRAFANA_ADMIN_PASSWORD:-[^}]/);
    const refused = runEntrypoint('grafana', { GF_SECURITY_ADMIN_PASSWORD: '' }, 'echo started');
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('set GRAFANA_ADMIN_PASSWORD');
    const started = runEntrypoint('grafana', { GF_SECURITY_ADMIN_PASSWORD: 'chosen-NOT-A-SECRET' }, 'echo started');
    expect(started.status).toBe(0);
    expect(started.stdout.trim()).toBe('started');
  });

  it('demo: Grafana lets anonymous users view, and its admin password is random (never admin/admin)', () => {
    const env = service('grafana-demo').environment as Record<string, string>;
    expect(env.GF_AUTH_ANONYMOUS_ENABLED).toBe('true');
    expect(env.GF_AUTH_ANONYMOUS_ORG_ROLE).toBe('Viewer');
    expect(env.GF_SECURITY_ADMIN_PASSWORD).toBeUndefined();
    const passwords = [1, 2].map(() => runEntrypoint('grafana-demo', {}, 'printf %s "$GF_SECURITY_ADMIN_PASSWORD"').stdout);
    for (const password of passwords) expect(password.length).toBeGreaterThanOrEqual(24);
    expect(passwords[0]).not.toBe(passwords[1]);
  });
});

describe('docker-compose.yml: demo profile', () => {
  const simulator = service('simulator');
  const demoExporter = service('exporter-demo');
  const demoConfigText = readFileSync(join(REPO_ROOT, 'config/exporter.compose-demo.yml'), 'utf8');
  const demoConfig = parseYaml(demoConfigText) as {
    codearts: { endpoint: string; auth: { token: string } };
    jobs: Array<{ id: string; name: string }>;
    server?: { port?: number };
  };
  const simArgs = argv(simulator);

  it('runs the simulator and its exporter only in the demo profile, the real exporter only in live', () => {
    expect(simulator.profiles).toEqual(['demo']);
    expect(demoExporter.profiles).toEqual(['demo']);
    expect(service('exporter').profiles).toEqual(['live']);
    expect(service('prometheus').profiles).toBeUndefined();
  });

  it('runs the simulator from the same image on all interfaces, without the exporter healthcheck', () => {
    expect(simulator.build).toBe('.');
    expect(simulator.image).toBe(demoExporter.image);
    expect(simArgs.slice(0, 3)).toEqual(['node', 'dist/cli.js', 'simulate']);
    expect(flag(simArgs, '--host')).toBe('0.0.0.0');
    // Real time: simulated finish times stay comparable with time() in the dashboards and alerts.
    expect(flag(simArgs, '--speed')).toBe('1');
    expect(simulator.healthcheck?.disable).toBe(true);
  });

  it('feeds the demo exporter the demo config, which points at the simulator service', () => {
    expect(mountSource(demoExporter, flag(imageCmd, '--config')!)).toBe('./config/exporter.compose-demo.yml');
    expect(argv(demoExporter)).toEqual(imageCmd);
    const endpoint = new URL(demoConfig.codearts.endpoint);
    expect(endpoint.hostname).toBe('simulator');
    expect(Object.keys(compose.services)).toContain(endpoint.hostname);
    expect(endpoint.port).toBe(flag(simArgs, '--port'));
    expect(demoConfig.codearts.auth.token).toBe(DEFAULT_TOKEN);
    expect(demoConfig.server?.port ?? DEFAULT_PORT).toBe(DEFAULT_PORT);
    const dependsOn = Array.isArray(demoExporter.depends_on) ? demoExporter.depends_on : Object.keys(demoExporter.depends_on ?? {});
    expect(dependsOn).toContain('simulator');
  });

  it('is a valid exporter config', () => {
    const config = parseConfigText(demoConfigText, { env: {}, source: 'config/exporter.compose-demo.yml' });
    expect(config.jobs).toHaveLength(demoConfig.jobs.length);
  });

  it('lists exactly the jobs the simulator generates for the seed and job count of the compose command', async () => {
    const jobs = Number(flag(simArgs, '--jobs'));
    const seed = Number(flag(simArgs, '--seed'));
    expect(Number.isInteger(jobs) && Number.isInteger(seed)).toBe(true);
    const sim = await createSimulator({ jobs, seed, port: 0, host: '127.0.0.1' });
    try {
      const generated = sim.jobs().map((j) => ({ id: j.id, name: j.name }));
      expect(demoConfig.jobs).toEqual(generated);
    } finally {
      await sim.close();
    }
  });
});

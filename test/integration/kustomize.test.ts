/**
 * Issue 14, acceptance 1-3: every kustomize overlay (discovered by listing deploy/kustomize/overlays,
 * alone and combined with every component) renders with `kubectl kustomize`; every object validates
 * against its Kubernetes or Prometheus Operator schema (kubernetes-models, offline); the rendered
 * config passes our own `validate` with the pod's files and environment; the PrometheusRule equals
 * config/alerts.yml and the dashboard ConfigMaps equal grafana/dashboards/*.json; credentials come
 * only from git-ignored files (sentinel values) and no overlay overwrites the Secret the docs tell
 * users to create by hand.
 */

import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { execFileSync } from 'node:child_process';
import { DockerfileParser, Env, type JSONInstruction } from 'dockerfile-ast';
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { findBinary, itWithBinary } from '../helpers/binaries.js';
import {
  addComponents,
  gitIgnores,
  kustomizationFiles,
  KUSTOMIZE_DIR,
  listDirs,
  prepareRenderTree,
  readKustomization,
  render,
  secretGeneratorSources,
  type K8sObject,
  type RenderTree,
} from '../helpers/kustomize.js';
import { containerEnv, dataOf, runWithSecretMounts, type Container, type Volume } from '../helpers/pod-layout.js';
import { REPO_ROOT } from '../helpers/promql.js';

/** Object classes by apiVersion; an object of any other apiVersion fails the test. */
const SCHEMAS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'networking.k8s.io/v1': networkingV1,
  'policy/v1': policyV1,
  'monitoring.coreos.com/v1': monitoringV1,
};
/** The Secret the docs tell users to create by hand; the base mounts it, no overlay may render it. */
const HAND_MADE_SECRET = 'codearts-build-exporter';
/** Variables config/exporter.yml (the example the base ships) expects from the user's environment. */
const EXAMPLE_CONFIG_VARIABLES = { CODEARTS_TOKEN: 'example-token-NOT-A-SECRET' };

const OVERLAYS = listDirs('overlays');
const COMPONENTS = listDirs('components');
const componentsOf = (overlay: string): string[] =>
  (readKustomization(`${KUSTOMIZE_DIR}/overlays/${overlay}/kustomization.yaml`).components ?? []).map((c) => posix.basename(c));
/** The "your own overlay" example of docs/deployment.md, its remote base pointed at the local overlay. */
const DOCS_EXAMPLE = 'docs/deployment.md: my-exporter';
/**
 * base, every overlay, every overlay combined with each component it does not include, and the
 * docs' own-overlay example.
 */
const VARIANTS: Array<{ name: string; dir: string; combine?: { overlay: string; component: string } }> = [
  { name: 'base', dir: `${KUSTOMIZE_DIR}/base` },
  ...OVERLAYS.map((overlay) => ({ name: overlay, dir: `${KUSTOMIZE_DIR}/overlays/${overlay}` })),
  ...OVERLAYS.flatMap((overlay) =>
    COMPONENTS.filter((component) => !componentsOf(overlay).includes(component)).map((component) => ({
      name: `${overlay} + component ${component}`,
      dir: `${KUSTOMIZE_DIR}/overlays/${overlay}--with-${component}`,
      combine: { overlay, component },
    })),
  ),
  { name: DOCS_EXAMPLE, dir: 'my-exporter' },
];

// ---- what the image runs (Dockerfile final stage) ------------------------------------------------
const dockerfile = DockerfileParser.parse(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const lastFromLine = Math.max(...dockerfile.getFROMs().map((f) => f.getRange().start.line));
const finalStage = dockerfile.getInstructions().filter((i) => i.getRange().start.line > lastFromLine);
const lastOf = (keyword: string) => finalStage.filter((i) => i.getKeyword().toUpperCase() === keyword).at(-1);
const IMAGE_CMD = (lastOf('CMD') as JSONInstruction).getJSONStrings().map((s) => s.getJSONValue());
const IMAGE_UID = Number(lastOf('USER')?.getArgumentsContent()?.split(':')[0]);
const IMAGE_ENV: Record<string, string> = Object.fromEntries(
  finalStage.filter((i): i is Env => i instanceof Env).flatMap((env) => env.getProperties().map((p) => [p.getName(), p.getValue() ?? ''])),
);
const CONFIG_PATH = IMAGE_CMD[IMAGE_CMD.indexOf('--config') + 1]!;
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const itKubectl = itWithBinary('kubectl');
const isRoot = process.getuid?.() === 0;
const strict = process.env.CI === 'true' || process.env.REQUIRE_E2E === '1';
let tree: RenderTree | undefined;
const rendered = new Map<string, K8sObject[]>();

beforeAll(() => {
  if (!findBinary('kubectl')) return;
  tree = prepareRenderTree();
  for (const variant of VARIANTS) {
    if (variant.combine) {
      execFileSync('cp', ['-R', join(tree.root, KUSTOMIZE_DIR, 'overlays', variant.combine.overlay), join(tree.root, variant.dir)]);
      addComponents(tree, variant.dir, [`${KUSTOMIZE_DIR}/components/${variant.combine.component}`]);
    }
    if (variant.name === DOCS_EXAMPLE) writeDocsExample(tree, variant.dir);
    rendered.set(variant.name, render(tree, variant.dir));
  }
}, 120_000);

/**
 * Writes the docs' `# my-exporter/kustomization.yaml` block into the tree, its remote resource
 * (`https://...//deploy/kustomize/<path>?ref=...`) replaced by the local directory, and the
 * exporter.yml it names (config/exporter.yml).
 */
function writeDocsExample(tree: RenderTree, dir: string): void {
  const docs = readFileSync(join(REPO_ROOT, 'docs/deployment.md'), 'utf8');
  const block = /```yaml\n(# my-exporter\/kustomization\.yaml\n[\s\S]*?)```/.exec(docs)?.[1];
  if (!block) throw new Error('docs/deployment.md has no "# my-exporter/kustomization.yaml" example');
  const local = block.replace(/https:\/\/\S+\/\/(deploy\/kustomize\/\S+)\?ref=\S+/g, (_, path: string) => `../${path}`);
  if (local === block) throw new Error('the docs example has no remote base to point at the local overlay');
  mkdirSync(join(tree.root, dir));
  writeFileSync(join(tree.root, dir, 'kustomization.yaml'), local);
  cpSync(join(REPO_ROOT, 'config/exporter.yml'), join(tree.root, dir, 'exporter.yml'));
}
afterAll(() => {
  if (tree) rmSync(tree.root, { recursive: true, force: true });
});

const objectsOf = (variant: string): K8sObject[] => {
  const objects = rendered.get(variant);
  if (!objects) throw new Error(`${variant} was not rendered`);
  return objects;
};
const only = (objects: K8sObject[], kind: string): K8sObject[] => objects.filter((o) => o.kind === kind);
const one = (objects: K8sObject[], kind: string): K8sObject => {
  const found = only(objects, kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};
interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: Record<string, unknown>;
  containers: Array<Container & Record<string, any>>;
  volumes: Volume[];
}
/** The exporter's object of a kind (the ha-redis overlay adds Redis' own Service and NetworkPolicy). */
const exporterOf = (objects: K8sObject[], kind: string): K8sObject => {
  const found = only(objects, kind).filter((o) => o.metadata.name === HAND_MADE_SECRET);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};
/** The overlay whose replicas share their state in Redis (and its combinations). */
const isHa = (variant: string): boolean => variant.startsWith('ha-redis');
const podOf = (objects: K8sObject[]) => {
  const deployment = exporterOf(objects, 'Deployment') as K8sObject & {
    spec: { replicas: number; strategy?: { type: string }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
  };
  const pod = deployment.spec.template.spec;
  return { deployment, pod, container: pod.containers[0]!, labels: deployment.spec.template.metadata.labels };
};
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
/** MiB of a Kubernetes quantity like 320Mi or 1Gi. */
const mebibytes = (quantity: string): number => {
  const [, number, unit] = /^(\d+)(Mi|Gi)$/.exec(quantity) ?? [];
  if (!number) throw new Error(`unexpected quantity ${quantity}`);
  return Number(number) * (unit === 'Gi' ? 1024 : 1);
};

describe('kustomize layout', () => {
  it('finds the overlays by listing deploy/kustomize/overlays, and renders each of them alone and with each component', () => {
    expect(OVERLAYS).toEqual(expect.arrayContaining(['prometheus-operator', 'secret-from-file']));
    for (const overlay of OVERLAYS)
      expect(existsSync(join(REPO_ROOT, KUSTOMIZE_DIR, 'overlays', overlay, 'kustomization.yaml')), overlay).toBe(true);
    expect(VARIANTS.map((v) => v.name)).toEqual(expect.arrayContaining(['base', ...OVERLAYS]));
    // Every component is used by an overlay, so none escapes rendering in its intended place.
    for (const component of COMPONENTS)
      expect(
        OVERLAYS.some((o) => componentsOf(o).includes(component)),
        component,
      ).toBe(true);
  });

  it('keeps every kustomization under base, overlays/<name> or components/<name> (or next to the files it generates from)', () => {
    const allowed = new RegExp(
      `^(${KUSTOMIZE_DIR}/(base|overlays/[^/]+|components/[^/]+)|config|grafana/dashboards)/kustomization\\.yaml$`,
    );
    for (const file of kustomizationFiles()) expect(file).toMatch(allowed);
  });

  it('ships no plain manifest: deploy/kubernetes.yaml is gone and no file under deploy/ defines a Secret', () => {
    expect(existsSync(join(REPO_ROOT, 'deploy/kubernetes.yaml'))).toBe(false);
    const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'deploy'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    for (const file of tracked.split('\n').filter((f) => /\.ya?ml$/.test(f))) {
      expect(readFileSync(join(REPO_ROOT, file), 'utf8'), file).not.toMatch(/^kind:\s*Secret\s*$/m);
    }
  });
});

describe.each(VARIANTS)('kustomize: $name', ({ name }) => {
  itKubectl('renders, and every object validates against its Kubernetes or Prometheus Operator schema', () => {
    const objects = objectsOf(name);
    expect(objects.length).toBeGreaterThan(5);
    const problems: string[] = [];
    for (const object of objects) {
      const Model = SCHEMAS[object.apiVersion]?.[object.kind] as (new (data: unknown) => { validate(): void }) | undefined;
      if (!Model) {
        problems.push(`${object.apiVersion} ${object.kind} ${object.metadata.name}: no schema`);
        continue;
      }
      try {
        new Model(object).validate();
      } catch (error) {
        problems.push(`${object.kind} ${object.metadata.name}: ${(error as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  itKubectl('puts every object in one namespace and resolves every reference between them', () => {
    const objects = objectsOf(name);
    expect(new Set(objects.map((o) => o.metadata.namespace))).toEqual(new Set(['monitoring']));
    const { pod, container, labels } = podOf(objects);
    const names = (kind: string) => only(objects, kind).map((o) => o.metadata.name);
    expect(names('ServiceAccount')).toContain(pod.serviceAccountName);
    for (const volume of pod.volumes) {
      if (volume.configMap) expect(names('ConfigMap'), volume.name).toContain(volume.configMap.name);
      if (volume.persistentVolumeClaim)
        expect(names('PersistentVolumeClaim'), volume.name).toContain(volume.persistentVolumeClaim.claimName);
      if (volume.secret) expect([...names('Secret'), HAND_MADE_SECRET], volume.name).toContain(volume.secret.secretName);
    }
    for (const mount of container.volumeMounts ?? []) expect(pod.volumes.map((v) => v.name)).toContain(mount.name);
    const service = exporterOf(objects, 'Service') as K8sObject & {
      spec: { selector: Record<string, string>; ports: Array<{ name: string; targetPort: string }> };
    };
    expect(matches(service.spec.selector, labels)).toBe(true);
    expect((container.ports as Array<{ name: string }>).map((p) => p.name)).toContain(service.spec.ports[0]?.targetPort);
    const policy = exporterOf(objects, 'NetworkPolicy') as K8sObject & { spec: { podSelector: { matchLabels: Record<string, string> } } };
    expect(matches(policy.spec.podSelector.matchLabels, labels)).toBe(true);
  });

  itKubectl('runs the image command as uid 1000 with a read-only root file system, no capabilities and no service account token', () => {
    const objects = objectsOf(name);
    const { deployment, pod, container } = podOf(objects);
    // A state file has one writer (Recreate); state in Redis lets two replicas run and roll one at a time.
    expect(deployment.spec.replicas).toBe(isHa(name) ? 2 : 1);
    expect(deployment.spec.strategy?.type).toBe(isHa(name) ? 'RollingUpdate' : 'Recreate');
    expect(container.args).toEqual(IMAGE_CMD);
    expect(container.image).toMatch(new RegExp(`(^|/)codearts-build-exporter:${PACKAGE_VERSION.replaceAll('.', '\\.')}$`));
    expect(IMAGE_UID).toBe(1000);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: IMAGE_UID,
      runAsGroup: IMAGE_UID,
      fsGroup: IMAGE_UID,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext.capabilities.add).toBeUndefined();
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(one(objects, 'ServiceAccount').automountServiceAccountToken).toBe(false);
    // Writable: only the state volume (the root file system is read-only).
    const writable = (container.volumeMounts ?? []).filter((m) => m.readOnly !== true).map((m) => m.mountPath);
    expect(writable).toEqual(['/app/data']);
    const dataVolume = pod.volumes.find((v) => v.name === container.volumeMounts?.find((m) => m.mountPath === '/app/data')?.name);
    // With Redis nothing is kept on disk: /app/data is an emptyDir and no volume claim is rendered for it.
    if (isHa(name)) expect([dataVolume?.persistentVolumeClaim, dataVolume?.emptyDir]).toEqual([undefined, { sizeLimit: '16Mi' }]);
    else expect(dataVolume?.persistentVolumeClaim).toBeDefined();
  });

  itKubectl('probes start-up and liveness on /healthz and readiness on /readyz, on the port the config serves', () => {
    const objects = objectsOf(name);
    const { pod, container } = podOf(objects);
    const configVolume = pod.volumes.find(
      (v) => v.name === container.volumeMounts?.find((m) => m.mountPath === posix.dirname(CONFIG_PATH))?.name,
    );
    const config = parseYaml(dataOf(objects, 'ConfigMap', configVolume!.configMap!.name)![posix.basename(CONFIG_PATH)]!) as {
      server?: { port?: number };
    };
    const port = (container.ports as Array<{ name: string; containerPort: number }>).find((p) => p.name === 'metrics');
    expect(port?.containerPort).toBe(config.server?.port ?? 10987);
    expect(container.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    // The start-up probe gives the process time to listen before liveness counts.
    expect(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold).toBeGreaterThanOrEqual(30);
  });

  itKubectl('admits only the metrics port and lets out only DNS and HTTPS (and Redis, with state in Redis)', () => {
    const policy = exporterOf(objectsOf(name), 'NetworkPolicy') as K8sObject & {
      spec: {
        policyTypes: string[];
        ingress: Array<{ ports: Array<{ port: number | string; protocol: string }>; from?: unknown }>;
        egress: Array<{ ports: Array<{ port: number; protocol: string }>; to?: unknown }>;
      };
    };
    expect(policy.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    expect(policy.spec.ingress.flatMap((rule) => rule.ports)).toEqual([{ port: 'metrics', protocol: 'TCP' }]);
    const egress = policy.spec.egress.flatMap((rule) => rule.ports.map((p) => `${p.port}/${p.protocol}`)).sort();
    expect(egress).toEqual(isHa(name) ? ['443/TCP', '53/TCP', '53/UDP', '6379/TCP'] : ['443/TCP', '53/TCP', '53/UDP']);
  });

  itKubectl('sizes memory above the heap limit (NODE_OPTIONS of the image, or of the container if it sets one)', () => {
    const { container } = podOf(objectsOf(name));
    // The container's NODE_OPTIONS, if it sets one, wins over the image's.
    const nodeOptions = (container.env ?? []).find((e) => e.name === 'NODE_OPTIONS')?.value ?? IMAGE_ENV.NODE_OPTIONS ?? '';
    const oldSpace = Number(/--max-old-space-size=(\d+)/.exec(nodeOptions)?.[1]);
    expect(oldSpace).toBeGreaterThan(0);
    // Young generation: three semi-spaces, 64 MiB each on Node 24 unless capped.
    const semiSpace = Number(/--max-semi-space-size=(\d+)/.exec(nodeOptions)?.[1] ?? 64);
    const limit = mebibytes(container.resources.limits.memory);
    const request = mebibytes(container.resources.requests.memory);
    // The heap V8 may grow to, plus 64 MiB for code, buffers and native memory.
    expect(limit).toBeGreaterThanOrEqual(oldSpace + 3 * semiSpace + 64);
    // The request is what the fleet uses (docs/deployment.md, sizing), below the limit.
    expect(request).toBeGreaterThan(0);
    expect(request).toBeLessThanOrEqual(limit);
    expect(container.resources.requests.cpu).toBeDefined();
  });

  const itAsRoot = isRoot || strict ? itKubectl : it.skip;
  itAsRoot("has a config that our own `validate` accepts with the pod's files and environment", () => {
    if (!isRoot) throw new Error("needs root (unshare --mount) to lay out the pod's secret files");
    const objects = objectsOf(name);
    const { pod, container } = podOf(objects);
    const configVolume = pod.volumes.find(
      (v) => v.name === container.volumeMounts?.find((m) => m.mountPath === posix.dirname(CONFIG_PATH))?.name,
    );
    const configText = dataOf(objects, 'ConfigMap', configVolume!.configMap!.name)![posix.basename(CONFIG_PATH)]!;
    const isExample = configText === readFileSync(join(REPO_ROOT, 'config/exporter.yml'), 'utf8');
    const configFile = join(tree!.root, 'rendered-exporter.yml');
    execFileSync('sh', ['-c', 'cat > "$1"', 'sh', configFile], { input: configText });
    const env = { ...containerEnv(objects, container), ...(isExample ? EXAMPLE_CONFIG_VARIABLES : {}) };
    const result = runWithSecretMounts(objects, container, pod.volumes, ['node', 'dist/cli.js', 'validate', '--config', configFile], {
      cwd: REPO_ROOT,
      env,
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^config OK/);
  });
});

describe('kustomize: the own-overlay example of docs/deployment.md', () => {
  itKubectl('applies its image, config, release label and 10,000-job sizing to the local overlay', () => {
    const objects = objectsOf(DOCS_EXAMPLE);
    const { container } = podOf(objects);
    expect(container.image).toBe(`ghcr.io/<owner>/codearts-build-exporter:${PACKAGE_VERSION}`);
    expect(container.env).toContainEqual({ name: 'NODE_OPTIONS', value: '--max-old-space-size=384 --max-semi-space-size=8' });
    expect(container.resources.limits.memory).toBe('768Mi');
    for (const kind of ['ServiceMonitor', 'PrometheusRule'])
      expect(one(objects, kind).metadata.labels?.release, kind).toBe('kube-prometheus-stack');
    const configMaps = only(objects, 'ConfigMap').filter((c) => c.metadata.name.startsWith('codearts-build-exporter-'));
    expect(configMaps).toHaveLength(1);
    expect((configMaps[0]!.data as Record<string, string>)['exporter.yml']).toBe(
      readFileSync(join(REPO_ROOT, 'config/exporter.yml'), 'utf8'),
    );
  });
});

describe('kustomize: Prometheus Operator objects', () => {
  const withOperator = VARIANTS.filter((v) => v.name.includes('prometheus-operator') || v.name === DOCS_EXAMPLE);
  const alertGroups = () => (parseYaml(readFileSync(join(REPO_ROOT, 'config/alerts.yml'), 'utf8')) as { groups: unknown[] }).groups;

  it('are part of the prometheus-operator overlay and its combinations', () => {
    expect(withOperator.map((v) => v.name)).toEqual(
      expect.arrayContaining(['prometheus-operator', 'secret-from-file + component prometheus-operator']),
    );
  });

  describe.each(withOperator)('$name', ({ name }) => {
    itKubectl('has a PrometheusRule whose groups equal config/alerts.yml (node scripts/generate-prometheusrule.mjs)', () => {
      const rule = one(objectsOf(name), 'PrometheusRule') as K8sObject & { spec: { groups: unknown[] } };
      expect(rule.spec.groups, 'run node scripts/generate-prometheusrule.mjs').toEqual(alertGroups());
    });

    itKubectl('has one ConfigMap per dashboard, labelled for the Grafana sidecar, holding each JSON file unchanged', () => {
      const dashboards = only(objectsOf(name), 'ConfigMap').filter((c) => c.metadata.labels?.grafana_dashboard === '1');
      const files = readdirSync(join(REPO_ROOT, 'grafana/dashboards'))
        .filter((f) => f.endsWith('.json'))
        .sort();
      expect(files.length).toBeGreaterThanOrEqual(3);
      const data = Object.assign({}, ...dashboards.map((c) => c.data as Record<string, string>)) as Record<string, string>;
      expect(Object.keys(data).sort()).toEqual(files);
      for (const file of files) expect(data[file], file).toBe(readFileSync(join(REPO_ROOT, 'grafana/dashboards', file), 'utf8'));
      for (const dashboard of dashboards) expect(Object.keys(dashboard.data as object)).toHaveLength(1);
      // Client-side `kubectl apply` keeps a copy in an annotation limited to 256 KiB.
      for (const dashboard of dashboards) expect(JSON.stringify(dashboard).length).toBeLessThan(200 * 1024);
    });

    itKubectl("has a ServiceMonitor on the Service's metrics port whose job label is the job CodeArtsExporterDown watches", () => {
      const objects = objectsOf(name);
      const monitor = one(objects, 'ServiceMonitor') as K8sObject & {
        spec: { jobLabel: string; selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string }> };
      };
      const service = exporterOf(objects, 'Service') as K8sObject & { spec: { ports: Array<{ name: string }> } };
      expect(matches(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
      expect(monitor.spec.endpoints.map((e) => [e.port, e.path])).toEqual([['metrics', '/metrics']]);
      expect(service.spec.ports.map((p) => p.name)).toContain('metrics');
      const job = service.metadata.labels?.[monitor.spec.jobLabel];
      const alerts = readFileSync(join(REPO_ROOT, 'config/alerts.yml'), 'utf8');
      expect(/up\{job="([^"]+)"\} == 0/.exec(alerts)?.[1]).toBe(job);
    });
  });
});

describe('kustomize: credentials', () => {
  it('reads every secretGenerator source from a file git ignores', () => {
    const sources = secretGeneratorSources();
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(gitIgnores(source), `${source} must be git-ignored`).toBe(true);
  });

  describe.each(VARIANTS)('$name', ({ name }) => {
    itKubectl("holds the sentinel credentials only in Secrets generated from those files, never under the hand-made Secret's name", () => {
      const objects = objectsOf(name);
      const sentinels = tree!.secrets.map((s) => s.sentinel);
      for (const secret of only(objects, 'Secret')) {
        expect(secret.metadata.name).not.toBe(HAND_MADE_SECRET);
        expect(secret.metadata.name).toMatch(new RegExp(`^${HAND_MADE_SECRET}-[a-z0-9]{10}$`));
        for (const value of Object.values(dataOf(objects, 'Secret', secret.metadata.name)!)) expect(sentinels).toContain(value);
      }
      for (const object of objects.filter((o) => o.kind !== 'Secret')) {
        const text = JSON.stringify(object);
        for (const sentinel of sentinels) {
          expect(text, `${object.kind} ${object.metadata.name}`).not.toContain(sentinel);
          expect(text, `${object.kind} ${object.metadata.name}`).not.toContain(Buffer.from(sentinel).toString('base64'));
        }
      }
    });
  });

  itKubectl('renders the credentials of secret-from-file from its files, and no sentinel reaches a file git tracks', () => {
    const secrets = only(objectsOf('secret-from-file'), 'Secret');
    expect(secrets).toHaveLength(1);
    const values = Object.values(dataOf(objectsOf('secret-from-file'), 'Secret', secrets[0]!.metadata.name)!);
    expect(values.sort()).toEqual(
      tree!.secrets
        .filter((s) => s.path.includes('/secret-from-file/'))
        .map((s) => s.sentinel)
        .sort(),
    );
    const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    }).split('\n');
    for (const file of tracked.filter((f) => f !== '' && existsSync(join(REPO_ROOT, f)))) {
      const text = readFileSync(join(REPO_ROOT, file), 'latin1');
      for (const { sentinel } of tree!.secrets) expect(text.includes(sentinel), file).toBe(false);
    }
  });

  itKubectl(
    'following docs/deployment.md: every Secret it creates by hand keeps its name, every directory it applies is rendered here',
    () => {
      const docs = readFileSync(join(REPO_ROOT, 'docs/deployment.md'), 'utf8');
      const created = [...docs.matchAll(/kubectl(?: -n \S+)? create secret generic (\S+)/g)].map((m) => m[1]!);
      expect(created.length).toBeGreaterThan(0);
      const { pod } = podOf(objectsOf('base'));
      const mounted = pod.volumes.flatMap((v) => (v.secret ? [v.secret.secretName] : []));
      for (const secret of created) {
        expect(mounted).toContain(secret);
        for (const variant of VARIANTS)
          expect(
            only(objectsOf(variant.name), 'Secret').map((s) => s.metadata.name),
            variant.name,
          ).not.toContain(secret);
      }
      const applied = [...docs.matchAll(/kubectl(?: -n \S+)? apply(?: --\S+)* -k (\S+)/g)].map((m) => m[1]!.replace(/\/$/, ''));
      expect(applied.length).toBeGreaterThanOrEqual(3);
      for (const dir of applied)
        expect(
          VARIANTS.map((v) => v.dir),
          dir,
        ).toContain(dir);
    },
  );
});

describe.each(VARIANTS.filter((v) => isHa(v.name)))('kustomize: $name, replicas on Redis (issue 11)', ({ name }) => {
  itKubectl('configures the exporter for the Redis it renders, guards the replicas with a PodDisruptionBudget, runs Redis durably', () => {
    const objects = objectsOf(name);
    const { pod, container, labels } = podOf(objects);
    const configVolume = pod.volumes.find(
      (v) => v.name === container.volumeMounts?.find((m) => m.mountPath === posix.dirname(CONFIG_PATH))?.name,
    );
    const config = parseYaml(dataOf(objects, 'ConfigMap', configVolume!.configMap!.name)![posix.basename(CONFIG_PATH)]!) as {
      state: { backend: string; redis: { url: string } };
    };
    expect(config.state.backend).toBe('redis');
    const url = new URL(config.state.redis.url);
    const redisService = only(objects, 'Service').find((s) => s.metadata.name === url.hostname) as
      (K8sObject & { spec: { selector: Record<string, string>; ports: Array<{ port: number }> } }) | undefined;
    expect(redisService, `a Service named ${url.hostname}`).toBeDefined();
    expect(redisService?.spec.ports.map((p) => p.port)).toContain(Number(url.port || 6379));
    const redis = one(objects, 'StatefulSet') as K8sObject & {
      spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: Array<{ args: string[] }> } } };
    };
    expect(matches(redisService?.spec.selector, redis.spec.template.metadata.labels)).toBe(true);
    expect(redis.spec.template.spec.containers[0]?.args.join(' ')).toMatch(
      /--appendonly yes --appendfsync always .*--maxmemory-policy noeviction/,
    );
    const pdb = one(objects, 'PodDisruptionBudget') as K8sObject & {
      spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    };
    expect(pdb.spec.minAvailable).toBe(1);
    expect(matches(pdb.spec.selector.matchLabels, labels)).toBe(true);
    // The exporter's egress to 6379 goes to Redis' pods, and Redis admits only the exporter's.
    const redisPolicy = only(objects, 'NetworkPolicy').find((p) => p.metadata.name !== HAND_MADE_SECRET) as K8sObject & {
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        ingress: Array<{ from: Array<{ podSelector: { matchLabels: Record<string, string> } }> }>;
      };
    };
    expect(matches(redisPolicy.spec.podSelector.matchLabels, redis.spec.template.metadata.labels)).toBe(true);
    expect(matches(redisPolicy.spec.ingress[0]?.from[0]?.podSelector.matchLabels, labels)).toBe(true);
    expect(only(objects, 'PersistentVolumeClaim')).toEqual([]);
  });
});

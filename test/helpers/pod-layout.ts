/**
 * Runs a command with a rendered pod's files where the pod would see them: each Secret volume of
 * the Deployment's container is mounted at its mountPath inside a private mount namespace
 * (`unshare --mount`, a tmpfs over /run, so nothing changes outside the command), and the
 * container's environment is resolved from the rendered objects (secretKeyRef, configMapKeyRef).
 * Needs root (unshare) and Secret mount paths under /run or /var/run.
 */

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { K8sObject } from './kustomize.js';

export interface Container {
  name: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: KeyRef; configMapKeyRef?: KeyRef } }>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  [key: string]: unknown;
}
interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}
export interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string };
  persistentVolumeClaim?: { claimName: string };
  emptyDir?: unknown;
}

/** The data of a rendered ConfigMap or Secret (Secret data decoded), or undefined if not rendered. */
export function dataOf(objects: K8sObject[], kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> | undefined {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!object) return undefined;
  const data = (object.data ?? {}) as Record<string, string>;
  const strings = (object.stringData ?? {}) as Record<string, string>;
  if (kind === 'ConfigMap') return { ...data };
  return { ...Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])), ...strings };
}

/** The container's environment as the kubelet would set it from the rendered objects. */
export function containerEnv(objects: K8sObject[], container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) {
      env[variable.name] = variable.value;
      continue;
    }
    const secretRef = variable.valueFrom?.secretKeyRef;
    const configRef = variable.valueFrom?.configMapKeyRef;
    const ref = secretRef ?? configRef;
    if (!ref) throw new Error(`env ${variable.name}: unsupported source`);
    const value = dataOf(objects, secretRef ? 'Secret' : 'ConfigMap', ref.name)?.[ref.key];
    if (value !== undefined) env[variable.name] = value;
    else if (!ref.optional) throw new Error(`env ${variable.name}: ${ref.name}/${ref.key} is not rendered and not optional`);
  }
  return env;
}

/**
 * Runs argv (from `cwd`) with the rendered Secret volumes mounted at their paths. Secret volumes
 * whose Secret is not rendered (created by hand, outside kustomize) are left out.
 */
export function runWithSecretMounts(
  objects: K8sObject[],
  container: Container,
  volumes: Volume[],
  argv: string[],
  options: { cwd: string; env: Record<string, string> },
): { status: number | null; stdout: string; stderr: string } {
  if (readlinkSync('/var/run') !== '/run' && readlinkSync('/var/run') !== '../run') throw new Error('/var/run is not a link to /run');
  const staging = mkdtempSync(join(tmpdir(), 'cbe-pod-'));
  const script: string[] = ['set -e', 'mount -t tmpfs -o size=1m,mode=755 tmpfs /run'];
  try {
    for (const mount of container.volumeMounts ?? []) {
      const volume = volumes.find((v) => v.name === mount.name);
      const data = volume?.secret ? dataOf(objects, 'Secret', volume.secret.secretName) : undefined;
      if (!data) continue;
      if (!/^\/(var\/)?run\//.test(mount.mountPath)) throw new Error(`secret mount ${mount.mountPath} is not under /run`);
      const source = join(staging, mount.name);
      mkdirSync(source);
      for (const [key, value] of Object.entries(data)) writeFileSync(join(source, key), value);
      script.push(`mkdir -p '${mount.mountPath}'`, `cp -R '${source}/.' '${mount.mountPath}/'`);
    }
    script.push('exec "$@"');
    const result = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script.join('\n'), 'sh', ...argv], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH, ...options.env },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

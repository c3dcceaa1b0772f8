/**
 * Issue 14, acceptance 5: the release workflow cannot run here, so it is checked statically. GitHub's
 * own workflow parser (@actions/workflow-parser, the one behind the Actions language service) checks
 * it against the workflow schema and parses every expression; the assertions below check what the
 * schema cannot: the trigger, minimal permissions, commit-pinned actions with only inputs their
 * action.yml declares (test/fixtures/github-actions.json), both platforms, SBOM, provenance,
 * signing, and build arguments that are exactly the Dockerfile's label ARGs.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { DockerfileParser } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '../helpers/promql.js';

const FILE = '.github/workflows/release.yml';
const text = readFileSync(join(REPO_ROOT, FILE), 'utf8');

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string | boolean | number>;
  env?: Record<string, string>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, { permissions: Record<string, string>; steps: Step[]; 'runs-on': string }>;
}
const workflow = parseYaml(text) as Workflow;
const jobs = Object.values(workflow.jobs);
const steps = jobs.flatMap((job) => job.steps);
const stepUsing = (action: string): Step => {
  const found = steps.filter((s) => s.uses?.startsWith(`${action}@`));
  expect(found, action).toHaveLength(1);
  return found[0]!;
};
const pins = (
  JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/github-actions.json'), 'utf8')) as {
    actions: Record<string, { version: string; commit: string; inputs: string[]; required: string[] }>;
  }
).actions;

/** Errors of GitHub's workflow parser (schema, expressions) and of its conversion to a template. */
async function parserErrors(content: string): Promise<string[]> {
  const result = parseWorkflow({ name: FILE, content }, new NoOperationTraceWriter());
  if (!result.value) return result.context.errors.getErrors().map((e) => e.message);
  const template = await convertWorkflowTemplate(result.context, result.value);
  return [...result.context.errors.getErrors().map((e) => e.message), ...(template.errors ?? []).map((e) => e.Message)];
}

describe('release workflow: GitHub workflow schema', () => {
  it("passes GitHub's workflow parser with no error", async () => {
    expect(await parserErrors(text)).toEqual([]);
  });

  it('(the parser does catch mistakes: an unknown permission, a broken expression, a missing runs-on)', async () => {
    expect(await parserErrors(text.replace('attestations: write', 'attestation: write'))).not.toEqual([]);
    expect(await parserErrors(text.replace('${{ steps.build.outputs.digest }}', '${{ steps.build.outputs.digest( }}'))).not.toEqual([]);
    expect(await parserErrors(text.replace('runs-on:', 'runs_on:'))).not.toEqual([]);
  });
});

describe('release workflow: structure', () => {
  it('runs only on a pushed tag v*', () => {
    expect(workflow.on).toEqual({ push: { tags: ['v*'] } });
  });

  it('grants read-only contents by default, and the job only packages, id-token and attestations write on top', () => {
    expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.permissions).toEqual({ contents: 'read', packages: 'write', 'id-token': 'write', attestations: 'write' });
  });

  it('pins every action to the commit of a released version (recorded in test/fixtures/github-actions.json)', () => {
    const uses = text.split('\n').filter((line) => /^\s*(-\s+)?uses:/.test(line));
    expect(uses.length).toBe(steps.filter((s) => s.uses).length);
    for (const line of uses) {
      const [, action, commit, version] = /uses:\s*([\w.-]+\/[\w.-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)\s*$/.exec(line) ?? [];
      expect(action, `${line.trim()} is not pinned to a commit with its version in a comment`).toBeDefined();
      expect(pins[action!], `${action} is not in the fixture`).toBeDefined();
      expect({ commit, version }).toEqual({ commit: pins[action!]!.commit, version: pins[action!]!.version });
    }
  });

  it('passes each action only inputs its action.yml declares, and every required one', () => {
    for (const step of steps.filter((s) => s.uses)) {
      const action = step.uses!.split('@')[0]!;
      const declared = pins[action]!;
      for (const input of Object.keys(step.with ?? {})) expect(declared.inputs, `${action}: ${input}`).toContain(input);
      for (const input of declared.required) expect(Object.keys(step.with ?? {}), `${action}: ${input}`).toContain(input);
    }
  });

  it('fails unless the tag is v + the version in package.json, and names the image after the repository on ghcr.io', () => {
    const check = steps.find((s) => s.id === 'version');
    expect(check?.env?.TAG).toBe('${{ github.ref_name }}');
    expect(check?.run).toContain(`version="$(node -p 'require("./package.json").version')"`);
    expect(check?.run).toMatch(/if \[ "\$TAG" != "v\$version" \]; then[\s\S]*exit 1/);
    expect(check?.run).toContain('image=ghcr.io/${GITHUB_REPOSITORY,,}');
    expect(stepUsing('docker/login-action').with?.registry).toBe('ghcr.io');
  });

  it('builds linux/amd64 and linux/arm64 with buildx and QEMU, pushes, and attaches SBOM and max provenance', () => {
    const build = stepUsing('docker/build-push-action');
    expect(String(build.with?.platforms).split(',').sort()).toEqual(['linux/amd64', 'linux/arm64']);
    expect(build.with?.push).toBe(true);
    expect(build.with?.sbom).toBe(true);
    expect(build.with?.provenance).toBe('mode=max');
    expect(build.with?.context).toBe('.');
    expect(String(stepUsing('docker/setup-qemu-action').with?.platforms)).toContain('arm64');
    stepUsing('docker/setup-buildx-action');
  });

  it("passes exactly the Dockerfile's label ARGs as build arguments: VERSION from package.json, REVISION, SOURCE", () => {
    const dockerfile = DockerfileParser.parse(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
    const lastFrom = Math.max(...dockerfile.getFROMs().map((f) => f.getRange().start.line));
    const args = dockerfile
      .getInstructions()
      .filter((i) => i.getRange().start.line > lastFrom && i.getKeyword() === 'ARG')
      .map((i) => i.getArgumentsContent()?.trim());
    const buildArgs = String(stepUsing('docker/build-push-action').with?.['build-args']).trim().split('\n');
    expect(Object.fromEntries(buildArgs.map((line) => line.split('=', 2) as [string, string]))).toEqual({
      VERSION: '${{ steps.version.outputs.version }}',
      REVISION: '${{ github.sha }}',
      SOURCE: '${{ github.server_url }}/${{ github.repository }}',
    });
    expect(args.sort()).toEqual(['REVISION', 'SOURCE', 'VERSION']);
  });

  it('attests and signs the pushed digest (keyless), then verifies the signature against this workflow', () => {
    const attest = stepUsing('actions/attest-build-provenance');
    expect(attest.with).toMatchObject({
      'subject-digest': '${{ steps.build.outputs.digest }}',
      'subject-name': '${{ steps.version.outputs.image }}',
      'push-to-registry': true,
    });
    stepUsing('sigstore/cosign-installer');
    const sign = steps.find((s) => s.run?.includes('cosign sign'));
    expect(sign?.env).toMatchObject({ IMAGE: '${{ steps.version.outputs.image }}', DIGEST: '${{ steps.build.outputs.digest }}' });
    expect(sign?.run).toContain('cosign sign --yes "$IMAGE@$DIGEST"');
    expect(sign?.run).toMatch(
      /cosign verify --certificate-identity "\$IDENTITY"[\s\S]*--certificate-oidc-issuer https:\/\/token\.actions\.githubusercontent\.com/,
    );
    expect(sign?.env?.IDENTITY).toBe('${{ github.server_url }}/${{ github.workflow_ref }}');
    // The order matters: sign what was pushed.
    const index = (step: Step) => steps.indexOf(step);
    expect(index(stepUsing('docker/build-push-action'))).toBeLessThan(index(sign!));
    expect(index(stepUsing('sigstore/cosign-installer'))).toBeLessThan(index(sign!));
  });

  it('keeps untrusted values out of inline scripts (they come in through env)', () => {
    for (const step of steps.filter((s) => s.run)) expect(step.run, step.name).not.toContain('${{');
  });
});

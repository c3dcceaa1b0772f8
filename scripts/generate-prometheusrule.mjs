#!/usr/bin/env node
// Writes the Prometheus Operator PrometheusRule from config/alerts.yml, so the rules Kubernetes
// users get are exactly the ones promtool tests. Kustomize cannot turn a plain rule file into an
// object's spec, hence this generator; test/unit/kustomize.test.ts fails if the two ever differ.
//
//   node scripts/generate-prometheusrule.mjs           # rewrite the PrometheusRule
//   node scripts/generate-prometheusrule.mjs --check   # exit 1 if it is out of date

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = 'config/alerts.yml';
const target = 'deploy/kustomize/components/prometheus-operator/prometheusrule.yaml';

/** The PrometheusRule text for the rule file text. */
export function renderPrometheusRule(alertsText) {
  const { groups } = parse(alertsText);
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'codearts-build-exporter', labels: { 'app.kubernetes.io/name': 'codearts-build-exporter' } },
    spec: { groups },
  };
  const header = [
    `# GENERATED from ${source} by scripts/generate-prometheusrule.mjs: do not edit, edit the rule file`,
    '# and run the script. kube-prometheus-stack only loads rules carrying its `release` label (or with',
    '# ruleSelectorNilUsesHelmValues: false): add it in your overlay (docs/deployment.md).',
  ];
  return `${header.join('\n')}\n${stringify(rule, { lineWidth: 0 })}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const expected = renderPrometheusRule(readFileSync(join(root, source), 'utf8'));
  let current = '';
  try {
    current = readFileSync(join(root, target), 'utf8');
  } catch {
    // missing: written below, or reported by --check
  }
  if (process.argv.includes('--check')) {
    if (current !== expected) {
      process.stderr.write(`${target} is out of date with ${source}: run node scripts/generate-prometheusrule.mjs\n`);
      process.exitCode = 1;
    }
  } else if (current !== expected) {
    writeFileSync(join(root, target), expected);
    process.stdout.write(`wrote ${target}\n`);
  }
}

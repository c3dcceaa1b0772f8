import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALLOWED, FILE_PARTS, FORBIDDEN_PACKAGES, PARTS, PURE } from '../../scripts/module-boundaries.mjs';

/**
 * The dependency direction of docs/design.md ("Module map"), checked on the imports as written in
 * every file under src/ (type-only imports included): the same table drives the lint rule.
 */
const SRC = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The part of src/ a path lies in: its first directory, or the file's name for files directly in src/. */
function partOf(path: string): string {
  const [first, second] = relative(SRC, path).split('/');
  return second === undefined ? (first ?? '').replace(/\.(ts|js)$/, '') : (first ?? '');
}

/** Every module specifier a file imports or re-exports, static or dynamic. */
function specifiers(text: string): string[] {
  const found = [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm), ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)];
  return found.map((match) => match[1] ?? '');
}

const files = sourceFiles(SRC);
const edges = files.flatMap((file) =>
  specifiers(readFileSync(file, 'utf8')).map((specifier) => ({
    file: relative(SRC, file),
    from: partOf(file),
    specifier,
    to: specifier.startsWith('.') ? partOf(resolve(dirname(file), specifier)) : undefined,
  })),
);

describe('module boundaries', () => {
  it('knows every part of src/ and every part has a rule', () => {
    const parts = new Set(files.map(partOf));
    expect([...parts].filter((part) => !PARTS.includes(part)).sort()).toEqual([]);
    for (const part of FILE_PARTS) expect(parts.has(part), part).toBe(true);
    expect(edges.length).toBeGreaterThan(200);
  });

  it('every import between parts goes in an allowed direction', () => {
    const wrong = edges.filter((edge) => edge.to !== undefined && edge.to !== edge.from && !(ALLOWED[edge.from] ?? []).includes(edge.to));
    expect(wrong.map((edge) => `${edge.file} imports ${edge.specifier} (${edge.from} -> ${edge.to})`)).toEqual([]);
  });

  it('nothing under metrics/, state/ or server/ imports codearts/; codearts/ imports neither the store nor prom-client; nothing imports commands/', () => {
    const reaches = (from: string[], to: string) => edges.filter((edge) => from.includes(edge.from) && edge.to === to);
    expect(reaches(['metrics', 'state', 'server'], 'codearts')).toEqual([]);
    expect(reaches(['codearts'], 'state')).toEqual([]);
    expect(edges.filter((edge) => edge.from === 'codearts' && edge.specifier === 'prom-client')).toEqual([]);
    expect(edges.filter((edge) => edge.to === 'commands' && edge.from !== 'commands' && edge.from !== 'cli')).toEqual([]);
    expect(
      edges.filter((edge) => edge.from === 'metrics' && ['express', 'undici', 'node:http', 'node:https'].includes(edge.specifier)),
    ).toEqual([]);
  });

  it('src/domain is pure: no package and no Node module', () => {
    const impure = edges.filter((edge) => PURE.includes(edge.from) && edge.to === undefined);
    expect(impure.map((edge) => `${edge.file} imports ${edge.specifier}`)).toEqual([]);
  });

  it('no part imports a package it must not', () => {
    const wrong = edges.filter(
      (edge) =>
        edge.to === undefined &&
        (FORBIDDEN_PACKAGES[edge.from] ?? []).some((name) => edge.specifier === name || edge.specifier.startsWith(`${name}/`)),
    );
    expect(wrong.map((edge) => `${edge.file} imports ${edge.specifier}`)).toEqual([]);
  });

  it('the lint rule is built from the same table', () => {
    const config = readFileSync(resolve(SRC, '../eslint.config.js'), 'utf8');
    expect(config).toContain("from './scripts/module-boundaries.mjs'");
    expect(config).toContain('importRules()');
  });
});

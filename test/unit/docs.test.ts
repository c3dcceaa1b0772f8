/**
 * The documentation as a reader meets it on GitHub: every relative link in every Markdown file
 * leads to a file that exists, every #anchor to a heading (GitHub's slug rules) or an explicit
 * anchor; the README stays short; LICENSE and CHANGELOG are there; nothing points outside the
 * repository.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { markdownAnchors, markdownLinks } from '../helpers/markdown.js';
import { REPO_ROOT } from '../helpers/promql.js';

const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'bench-results', 'coverage']);

function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return SKIP_DIRS.has(entry.name) ? [] : filesUnder(join(dir, entry.name), keep);
    return keep(entry.name) ? [join(dir, entry.name)] : [];
  });
}

const MARKDOWN = filesUnder(REPO_ROOT, (name) => name.endsWith('.md'));
const anchorCache = new Map<string, Set<string>>();
const anchorsOf = (file: string): Set<string> => {
  let anchors = anchorCache.get(file);
  if (!anchors) anchorCache.set(file, (anchors = markdownAnchors(readFileSync(file, 'utf8'))));
  return anchors;
};

/** What is wrong with one link, or undefined when it is fine (external links are not fetched). */
function checkLink(file: string, href: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href)) return undefined;
  const [rawPath = '', anchor] = href.split('#', 2);
  const path = decodeURIComponent(rawPath);
  if (path.startsWith('/')) return 'absolute path: use a path relative to this file';
  const target = path === '' ? file : resolve(dirname(file), path);
  if (!target.startsWith(REPO_ROOT)) return 'points outside the repository';
  if (!existsSync(target)) return `missing file ${relative(REPO_ROOT, target)}`;
  if (anchor === undefined || anchor === '') return undefined;
  if (!target.endsWith('.md')) return undefined;
  return anchorsOf(target).has(anchor) ? undefined : `no heading or anchor #${anchor} in ${relative(REPO_ROOT, target)}`;
}

describe('Markdown links', () => {
  it('finds the Markdown files', () => {
    const names = MARKDOWN.map((file) => relative(REPO_ROOT, file));
    expect(names).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'docs/troubleshooting.md', 'docs/design.md']));
  });

  it.each(MARKDOWN.map((file) => [relative(REPO_ROOT, file), file]))('%s: every relative link and #anchor resolves', (_name, file) => {
    const broken = markdownLinks(readFileSync(file, 'utf8'))
      .map((link) => ({ ...link, problem: checkLink(file, link.href) }))
      .filter((link) => link.problem !== undefined)
      .map((link) => `line ${link.line}: ${link.href}: ${link.problem}`);
    expect(broken).toEqual([]);
  });
});

describe('the link checker itself', () => {
  const sample = `# Title\n\n## Exit codes \`2\` and 1\n\n## Exit codes \`2\` and 1\n\n<a id="custom"></a>\n\n[a](#title) [b](other.md#x) ![c](img.png)\n\n\`\`\`md\n[not a link](nowhere.md)\n\`\`\`\n`;

  it('slugs headings as GitHub does, numbering repeats, and reads <a id> anchors', () => {
    expect([...markdownAnchors(sample)]).toEqual(['title', 'exit-codes-2-and-1', 'exit-codes-2-and-1-1', 'custom']);
    expect([...markdownAnchors('## `/readyz` answers 503\n## 401 with AK/SK\n## Alert runbooks: exporter & API\n')]).toEqual([
      'readyz-answers-503',
      '401-with-aksk',
      'alert-runbooks-exporter--api',
    ]);
  });

  it('reads links and images but nothing inside code blocks', () => {
    expect(markdownLinks(sample).map((link) => link.href)).toEqual(['#title', 'other.md#x', 'img.png']);
  });

  it('reports a missing file and a missing anchor', () => {
    const readme = join(REPO_ROOT, 'README.md');
    expect(checkLink(readme, 'docs/no-such-file.md')).toBe('missing file docs/no-such-file.md');
    expect(checkLink(readme, 'docs/troubleshooting.md#no-such-section')).toBe(
      'no heading or anchor #no-such-section in docs/troubleshooting.md',
    );
    expect(checkLink(readme, 'https://example.com/anything')).toBeUndefined();
    expect(checkLink(readme, '../outside.md')).toBe('points outside the repository');
  });
});

describe('README', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

  it('stays short: at most 300 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
  });

  it('keeps the two-command quick start and the three ways to start', () => {
    expect(readme).toContain('npm ci && npm run demo');
    expect(readme).toContain('npm ci && npm test');
    expect(readme).toContain('docker compose --profile demo up');
    expect(readme).toContain('](docs/deployment.md)');
  });

  it('links every document in docs/', () => {
    for (const doc of readdirSync(join(REPO_ROOT, 'docs')).filter((name) => name.endsWith('.md'))) {
      expect(readme, doc).toContain(`](docs/${doc})`);
    }
  });
});

describe('LICENSE and CHANGELOG', () => {
  it('LICENSE is the Apache License 2.0 that package.json names', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { license: string };
    const license = readFileSync(join(REPO_ROOT, 'LICENSE'), 'utf8');
    expect(pkg.license).toBe('Apache-2.0');
    expect(license).toContain('Apache License');
    expect(license).toContain('Version 2.0, January 2004');
    expect(license).toContain('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
    expect(license).toContain('END OF TERMS AND CONDITIONS');
  });

  it('CHANGELOG follows Keep a Changelog, with Unreleased and an entry for the package version', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const changelog = readFileSync(join(REPO_ROOT, 'CHANGELOG.md'), 'utf8');
    expect(changelog).toMatch(/^# Changelog\n/);
    expect(changelog).toContain('https://keepachangelog.com/');
    expect(changelog).toMatch(/^## \[Unreleased\]$/m);
    expect(changelog).toMatch(new RegExp(`^## \\[${pkg.version.replace(/\./g, '\\.')}\\] - \\d{4}-\\d{2}-\\d{2}$`, 'm'));
    const sections = [...changelog.matchAll(/^### (.+)$/gm)].map((m) => m[1]);
    for (const section of sections) expect(['Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security']).toContain(section);
  });
});

describe('the repository stands alone', () => {
  const TEXT = /\.(md|ts|mjs|js|json|ya?ml|sh)$|^Dockerfile$|^run$/;
  const files = filesUnder(REPO_ROOT, (name) => TEXT.test(name) && name !== 'package-lock.json');
  // Built from parts so that this file does not match itself.
  const outside = new RegExp(['DESIGN ', '§', '|', '/work/', 'shared', '|', '\\.\\./', 'shared/'].join(''));

  it('no file refers to a design document or shared folder outside the repository', () => {
    const hits = files.filter((file) => outside.test(readFileSync(file, 'utf8'))).map((file) => relative(REPO_ROOT, file));
    expect(hits).toEqual([]);
  });
});

describe('dashboard pictures', () => {
  const images = join(REPO_ROOT, 'docs', 'images');
  const dashboards = readdirSync(join(REPO_ROOT, 'grafana', 'dashboards')).filter((name) => name.endsWith('.json'));

  it('one PNG per dashboard, each shown in docs/dashboards.md and under 200 KB', () => {
    const page = readFileSync(join(REPO_ROOT, 'docs', 'dashboards.md'), 'utf8');
    for (const name of dashboards) {
      const uid = (JSON.parse(readFileSync(join(REPO_ROOT, 'grafana', 'dashboards', name), 'utf8')) as { uid: string }).uid;
      const png = join(images, `dashboard-${uid}.png`);
      expect(existsSync(png), png).toBe(true);
      expect(readFileSync(png).subarray(1, 4).toString('latin1')).toBe('PNG');
      expect(statSync(png).size, png).toBeLessThan(200 * 1024);
      expect(page).toContain(`](images/dashboard-${uid}.png)`);
    }
  });
});

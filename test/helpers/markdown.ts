/**
 * Markdown as GitHub renders it, for the link checker: headings become anchors by GitHub's slug
 * rules (github-slugger, the implementation GitHub's own rules are published as), links are read
 * from markdown-it's token stream so that code blocks and inline code never count as links.
 */
import GithubSlugger from 'github-slugger';
import MarkdownIt from 'markdown-it';
import type Token from 'markdown-it/lib/token.mjs';

const md = new MarkdownIt({ html: true });

export interface MarkdownLink {
  href: string;
  line: number;
}

/** Every anchor a document offers: heading slugs (with GitHub's -1, -2 for repeats) and `<a id|name>`. */
export function markdownAnchors(text: string): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  const tokens = md.parse(text, {});
  tokens.forEach((token, i) => {
    if (token.type === 'heading_open') anchors.add(slugger.slug(plainText(tokens[i + 1])));
    if (token.type === 'html_block' || token.type === 'html_inline') {
      for (const match of token.content.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) anchors.add(match[1] as string);
    }
    for (const child of token.children ?? []) {
      if (child.type !== 'html_inline') continue;
      for (const match of child.content.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) anchors.add(match[1] as string);
    }
  });
  return anchors;
}

/** The text GitHub slugs: inline markup dropped, code spans kept as their content. */
function plainText(inline: Token | undefined): string {
  return (inline?.children ?? [])
    .filter((child) => child.type === 'text' || child.type === 'code_inline')
    .map((child) => child.content)
    .join('');
}

/** Links and images with their line, in document order; references resolved by markdown-it. */
export function markdownLinks(text: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  let line = 1;
  for (const token of md.parse(text, {})) {
    // Inline tokens inside tables carry no position: they take the last block's line.
    if (token.map) line = token.map[0] + 1;
    for (const child of token.children ?? []) {
      const href = child.type === 'link_open' ? child.attrGet('href') : child.type === 'image' ? child.attrGet('src') : null;
      if (href !== null) links.push({ href, line });
      if (child.type === 'html_inline') {
        for (const match of child.content.matchAll(/\b(?:href|src)="([^"]+)"/g)) links.push({ href: match[1] as string, line });
      }
    }
    if (token.type === 'html_block') {
      for (const match of token.content.matchAll(/\b(?:href|src)="([^"]+)"/g)) links.push({ href: match[1] as string, line });
    }
  }
  return links;
}

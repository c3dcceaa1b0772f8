import type { ExpositionFormat } from '../metrics/exposition.js';

/**
 * Which format a `/metrics` scrape gets, from its Accept header (RFC 9110 §12.5.1): the media
 * ranges with their q-values, the most specific range that matches a format deciding its q
 * (`text/plain;version=0.0.4` over `text/plain` over `text/*` over `*\/*`). A range naming another
 * version of a format (OpenMetrics 0.0.1, the text format 1.0.0) does not match it. Offered:
 *
 * - `text`: `text/plain; version=0.0.4` (no version: that one);
 * - `openmetrics`: `application/openmetrics-text; version=1.0.0` (no version: 1.0.0, the oldest,
 *   as the OpenMetrics spec asks).
 *
 * The highest q wins; equal q (`*\/*`, no header, `application/openmetrics-text, text/plain`) go to
 * the text format, which every scraper reads. When nothing offered is acceptable the text format is
 * sent anyway rather than a 406: what `/metrics` always did (RFC 9110 allows either).
 */

interface Offer {
  format: ExpositionFormat;
  type: string;
  subtype: string;
  version: string;
}

/** In the order equal q-values are decided: the text format first. */
const OFFERS: readonly Offer[] = [
  { format: 'text', type: 'text', subtype: 'plain', version: '0.0.4' },
  { format: 'openmetrics', type: 'application', subtype: 'openmetrics-text', version: '1.0.0' },
];

interface MediaRange {
  type: string;
  subtype: string;
  version: string | undefined;
  q: number;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The ranges of an Accept header; a malformed range (bad syntax or q) is left out. */
export function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  // Commas inside quoted parameter values are not separators.
  for (const element of header.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
    const [mediaType = '', ...params] = element.split(';').map((piece) => piece.trim());
    const [type = '', subtype = '', extra] = mediaType.toLowerCase().split('/');
    if (extra !== undefined || !TOKEN.test(type) || !TOKEN.test(subtype) || (type === '*' && subtype !== '*')) continue;
    const range: MediaRange = { type, subtype, version: undefined, q: 1 };
    let valid = true;
    for (const param of params) {
      if (param === '') continue;
      const eq = param.indexOf('=');
      const name = (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase();
      const value =
        eq < 0
          ? ''
          : param
              .slice(eq + 1)
              .trim()
              .replace(/^"(.*)"$/, '$1');
      if (name === 'q') {
        valid = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value);
        range.q = Number(value);
      } else if (name === 'version') {
        range.version = value;
      }
    }
    if (valid) ranges.push(range);
  }
  return ranges;
}

/** How specific a range is for an offer; -1 when it does not match it. */
function specificity(range: MediaRange, offer: Offer): number {
  if (range.type === '*') return 0;
  if (range.type !== offer.type) return -1;
  if (range.subtype === '*') return 1;
  if (range.subtype !== offer.subtype) return -1;
  if (range.version === undefined) return 2;
  return range.version === offer.version ? 3 : -1;
}

/** The q-value a header gives an offer: that of its most specific matching range (the highest among equals); 0 when none matches. */
function quality(ranges: readonly MediaRange[], offer: Offer): number {
  let best = -1;
  let q = 0;
  for (const range of ranges) {
    const rank = specificity(range, offer);
    if (rank > best || (rank === best && range.q > q)) {
      best = rank;
      q = range.q;
    }
  }
  return best < 0 ? 0 : q;
}

/** The format of a scrape whose Accept header is `accept`, among the `formats` this server offers. */
export function chooseFormat(accept: string | undefined, formats: readonly ExpositionFormat[] = ['text', 'openmetrics']): ExpositionFormat {
  const offers = OFFERS.filter((offer) => formats.includes(offer.format));
  if (!accept || offers.length <= 1) return offers[0]?.format ?? 'text';
  const ranges = parseAccept(accept);
  let chosen: Offer | undefined;
  let chosenQ = 0;
  for (const offer of offers) {
    const q = quality(ranges, offer);
    if (q > chosenQ) {
      chosen = offer;
      chosenQ = q;
    }
  }
  return chosen?.format ?? 'text';
}

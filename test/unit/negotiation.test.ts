import { describe, expect, it } from 'vitest';
import { PROMETHEUS_HEADERS } from '../../src/bench/scrapers.js';
import { chooseFormat, parseAccept } from '../../src/server/negotiation.js';

/** Accept as the scraper sends it → the format of /metrics (src/server/negotiation.ts). */
const CASES: Array<[string | undefined, 'text' | 'openmetrics']> = [
  // Prometheus 2.x (2.42 as installed here): OpenMetrics 1.0.0 first.
  [PROMETHEUS_HEADERS.accept, 'openmetrics'],
  // Prometheus 3.x default scrape_protocols: protobuf first (not offered), then OpenMetrics.
  [
    'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0;q=0.4,application/openmetrics-text;version=0.0.1;q=0.3,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.2,text/plain;version=0.0.4;q=0.1,*/*;q=0.05',
    'openmetrics',
  ],
  // Prometheus 3.x with scrape_protocols: [PrometheusText0.0.4]
  ['text/plain;version=0.0.4;q=1,*/*;q=0.1', 'text'],
  // Nothing said, or anything goes: the text format, as always.
  [undefined, 'text'],
  ['', 'text'],
  ['*/*', 'text'],
  ['text/*', 'text'],
  ['text/plain', 'text'],
  ['application/*', 'openmetrics'],
  ['application/openmetrics-text', 'openmetrics'],
  ['application/openmetrics-text; version=1.0.0', 'openmetrics'],
  ['application/openmetrics-text;version="1.0.0";charset=utf-8', 'openmetrics'],
  ['APPLICATION/OpenMetrics-Text; Version=1.0.0', 'openmetrics'],
  // Only other versions: not what is offered; the text format rather than 406.
  ['application/openmetrics-text;version=0.0.1', 'text'],
  ['application/openmetrics-text;version=2.0.0', 'text'],
  ['text/plain;version=1.0.0;escaping=allow-utf-8', 'text'],
  ['application/json', 'text'],
  // q-values decide; equal ones go to the text format.
  ['application/openmetrics-text, text/plain', 'text'],
  ['text/plain, application/openmetrics-text', 'text'],
  ['application/openmetrics-text;q=1, text/plain;q=0.999', 'openmetrics'],
  ['text/plain;version=0.0.4;q=0.5,application/openmetrics-text;version=1.0.0;q=0.4', 'text'],
  ['application/openmetrics-text;q=0', 'text'],
  ['application/openmetrics-text;q=0.001', 'openmetrics'],
  // The most specific range decides a format's q.
  ['*/*;q=0.1, text/plain;q=0', 'openmetrics'],
  ['application/openmetrics-text;q=0.2, application/*;q=0.9, text/plain;q=0.5', 'text'],
  ['application/openmetrics-text;version=1.0.0;q=0.9, application/openmetrics-text;q=0.1, text/plain;q=0.5', 'openmetrics'],
  ['application/openmetrics-text;version=0.0.1;q=1, application/openmetrics-text;q=0.3, text/plain;q=0.2', 'openmetrics'],
  // Malformed ranges are left out.
  ['application/openmetrics-text;q=2', 'text'],
  ['application/openmetrics-text;q=abc, text/plain;q=0.1', 'text'],
  ['garbage, application/openmetrics-text', 'openmetrics'],
  ['*/plain, application/openmetrics-text', 'openmetrics'],
  ['application/openmetrics-text;foo="a,b";q=0.9, text/plain;q=0.5', 'openmetrics'],
];

describe('/metrics format negotiation', () => {
  it.each(CASES)('Accept %j gets %s', (accept, format) => {
    expect(chooseFormat(accept)).toBe(format);
  });

  it('offers the text format only when OpenMetrics is off (server.openmetrics: false)', () => {
    expect(chooseFormat(PROMETHEUS_HEADERS.accept, ['text'])).toBe('text');
    expect(chooseFormat('application/openmetrics-text', ['text'])).toBe('text');
  });

  it('reads ranges, parameters, quotes and q-values', () => {
    expect(parseAccept('text/plain;version=0.0.4;q=0.5, application/openmetrics-text;version="1.0.0", */*;q=0.1')).toEqual([
      { type: 'text', subtype: 'plain', version: '0.0.4', q: 0.5 },
      { type: 'application', subtype: 'openmetrics-text', version: '1.0.0', q: 1 },
      { type: '*', subtype: '*', version: undefined, q: 0.1 },
    ]);
    expect(parseAccept('text/plain;q=1.5, a/b/c, /x, text/plain;q=0.25')).toEqual([
      { type: 'text', subtype: 'plain', version: undefined, q: 0.25 },
    ]);
  });
});

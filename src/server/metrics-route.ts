import type { Request, Response } from 'express';
import { PROMETHEUS_CONTENT_TYPE, type ExpositionFormat } from '../metrics/exposition.js';
import { OPENMETRICS_CONTENT_TYPE } from '../metrics/openmetrics.js';
import { chooseFormat } from './negotiation.js';
import { MetricsUnavailableError, type Coding, type ScrapeCache } from './scrape-cache.js';
import { TurnLimit } from './turn-limit.js';

/**
 * Responses to /metrics written per turn of the event loop (see TurnLimit). With 50 nonstop
 * scrapers of 500 jobs, 8 halved the poll cycle's time against no limit; a turn then writes up
 * to 2 x 8 bodies (the poll and check phases), about 2-3 ms.
 */
const SCRAPES_PER_TURN = 8;

/**
 * The coding of a scrape's response per its Accept-Encoding (q-values, `*`, `identity;q=0`; RFC
 * 9110 §12.5.3), by Express' negotiator. Codings the client ranks equally go in the order of
 * `codings` (gzip first: it is assembled from cached pieces, the cheapest to serve). No header:
 * identity. Nothing acceptable: undefined.
 */
export function chooseCoding(req: Request, codings: readonly Coding[]): Coding | undefined {
  // x-gzip is gzip (RFC 9110 §8.4.1.3); offered only when named, or `*` would match it after `gzip;q=0`.
  const named = /x-gzip/i.test(req.headers['accept-encoding'] ?? '');
  const offered = codings.flatMap((coding) => (coding === 'gzip' && named ? ['gzip', 'x-gzip'] : [coding]));
  const chosen = req.acceptsEncodings(offered);
  if (!chosen) return undefined;
  return chosen === 'x-gzip' ? 'gzip' : (chosen as Coding);
}

const CONTENT_TYPES: Record<ExpositionFormat, string> = { text: PROMETHEUS_CONTENT_TYPE, openmetrics: OPENMETRICS_CONTENT_TYPE };

/**
 * GET and HEAD /metrics: the cached body in the format (src/server/negotiation.ts) and coding the
 * client accepts best. `formats`: what this server offers (the text format only with
 * `server.openmetrics: false`).
 */
export function metricsRoute(
  cache: ScrapeCache,
  formats: readonly ExpositionFormat[] = ['text', 'openmetrics'],
): (req: Request, res: Response) => Promise<void> {
  const turns = new TurnLimit(SCRAPES_PER_TURN);
  // Caches must keep one answer per Accept too, when it decides the format.
  const vary = formats.length > 1 ? 'Accept, Accept-Encoding' : 'Accept-Encoding';
  return async (req, res) => {
    await turns.acquire();
    res.setHeader('Vary', vary);
    const format = chooseFormat(req.headers.accept, formats);
    const coding = chooseCoding(req, cache.codings);
    if (!coding) {
      res
        .status(406)
        .type('text')
        .send(`none of the codings in Accept-Encoding is available; this server offers ${cache.codings.join(', ')}\n`);
      return;
    }
    let body: Buffer;
    try {
      body = await cache.body(coding, format);
    } catch (error) {
      if (!(error instanceof MetricsUnavailableError)) throw error;
      res.status(503).type('text').send(`metrics unavailable: ${error.message}\n`);
      return;
    }
    res.status(200);
    res.setHeader('Content-Type', CONTENT_TYPES[format]);
    if (coding !== 'identity') res.setHeader('Content-Encoding', coding);
    res.setHeader('Content-Length', body.length);
    // For HEAD, Node sends the headers only.
    res.end(body);
  };
}

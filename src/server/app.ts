import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { ExpositionFormat } from '../metrics/exposition.js';
import { renderLandingPage, type LandingInfo } from './landing-page.js';
import { metricsRoute } from './metrics-route.js';
import type { ScrapeCache } from './scrape-cache.js';

export interface ServerSources {
  /** The `/metrics` bodies, rendered once for all scrapers; never calls CodeArts. */
  metrics: ScrapeCache;
  /** Shared store: this replica's own metrics (self and process), apart from the build families every replica serves alike. */
  replicaMetrics?: ScrapeCache | undefined;
  /** The formats `/metrics` and `/metrics/replica` offer (negotiated by Accept). @default ['text', 'openmetrics'] */
  formats?: readonly ExpositionFormat[];
  isReady: () => { ready: boolean; reason?: string };
  /** Liveness: false when the process looks wedged (no poll cycle finished for too long). */
  isHealthy?: () => { healthy: true } | { healthy: false; reason: string };
  landing: () => LandingInfo;
  onError?: (error: unknown) => void;
}

/** `/`, `/metrics`, `/healthz`, `/readyz`; everything else is 404. */
export function createServerApp(sources: ServerSources): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  app.get('/', (_req, res) => {
    res.type('html').send(renderLandingPage(sources.landing()));
  });
  app.get('/metrics', metricsRoute(sources.metrics, sources.formats));
  if (sources.replicaMetrics) app.get('/metrics/replica', metricsRoute(sources.replicaMetrics, sources.formats));
  app.get('/healthz', (_req, res) => {
    const health = sources.isHealthy?.() ?? { healthy: true };
    if (health.healthy) res.type('text').send('ok\n');
    else res.status(503).type('text').send(`unhealthy: ${health.reason}\n`);
  });
  app.get('/readyz', (_req, res) => {
    const { ready, reason } = sources.isReady();
    res
      .status(ready ? 200 : 503)
      .type('text')
      .send(ready ? 'ready\n' : `not ready: ${reason ?? 'starting'}\n`);
  });
  app.use((_req, res) => {
    res.status(404).type('text').send('not found\n');
  });
  // Never send a stack trace to a scraper or a browser.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    sources.onError?.(error);
    res.status(500).type('text').send('internal error\n');
  });
  return app;
}

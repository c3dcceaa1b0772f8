import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthProvider } from './codearts/auth/types.js';
import type { CodeArtsClient } from './codearts/client.js';
import type { HttpTransport } from './codearts/transport.js';
import type { Config } from './config/schema.js';
import { consoleLink, parseConsoleUrl } from './domain/console-link.js';
import type { CounterLayout } from './domain/counters.js';
import type { JobRef, JobState } from './domain/job.js';
import type { Logger } from './log/logger.js';
import { BuildMetrics } from './metrics/build-metrics.js';
import type { ExpositionFormat } from './metrics/exposition.js';
import { joinParts, type ExpositionPart } from './metrics/exposition-part.js';
import { wholeBody } from './metrics/openmetrics.js';
import { SelfMetrics } from './metrics/self-metrics.js';
import { JobDiscovery } from './poller/discovery.js';
import { JobSet } from './poller/job-set.js';
import { Poller, type CycleSummary, type PollerOptions } from './poller/poller.js';
import { PollSchedule } from './poller/schedule.js';
import { createServerApp } from './server/app.js';
import type { LandingJob } from './server/landing-page.js';
import { listen } from './server/listen.js';
import { CycleWatchdog } from './server/watchdog.js';
import { MetricsUnavailableError, ScrapeCache } from './server/scrape-cache.js';
import type { Store, StoredJob } from './state/store.js';
import { systemClock, type Clock } from './support/clock.js';
import { schedulePeriodSeconds } from './support/cron.js';
import type { Events } from './support/events.js';
import { VERSION } from './version.js';
import { createAuthProvider } from './wiring/auth.js';
import { createClient, createTransport } from './wiring/client.js';
import { createReporter, type ExporterEvent } from './wiring/report.js';
import { openConfiguredStore, sharedView, type SharedView } from './wiring/store.js';

/**
 * How long a `/metrics` body is served without rendering it again when nothing tracked changed:
 * the bound on how old api_requests_total, the request duration histogram, api_retries_total and
 * the process metrics in a scrape can be (everything else renders again on its next change).
 */
export const METRICS_MAX_AGE_MS = 1000;

export interface ExporterOptions {
  config: Config;
  logger: Logger;
  /**
   * Replaces the file store of `state.path` (tests, the bench, `once`; a future Redis store). It
   * reports through `events`, as does a tool that commits to it on its own (the bench's synthetic builds).
   */
  openStore?: (layout: CounterLayout, events: Events<ExporterEvent>) => Promise<Store>;
  /** Decorates the auth provider built from the config (tests: tampering with signed requests). */
  wrapAuth?: (auth: AuthProvider) => AuthProvider;
  /** The poller's and discovery's clock (tests and the bench: the simulator's virtual time). @default systemClock */
  clock?: Clock;
}

/** The metrics settings the store keeps counters in. */
export function counterLayout(config: Config): CounterLayout {
  const { record_labels, duration_buckets, queue_buckets, steps, failures, recovery } = config.metrics;
  return {
    recordLabels: record_labels,
    durationBuckets: duration_buckets,
    queueBuckets: queue_buckets,
    stepBuckets: steps.buckets,
    maxStepsPerJob: steps.max_per_job,
    maxErrorCodesPerJob: failures.max_error_codes_per_job,
    recoveryBuckets: recovery.buckets,
  };
}

/** The parts the composition root keeps hold of. */
interface Parts {
  config: Config;
  logger: Logger;
  events: Events<ExporterEvent>;
  metrics: BuildMetrics;
  self: SelfMetrics;
  client: CodeArtsClient;
  auth: AuthProvider;
  store: Store;
  jobs: JobSet;
  poller: Poller;
  transport: HttpTransport;
  watchdog: CycleWatchdog;
  periodSeconds: number;
  /** Set when the store is shared by several replicas (Redis). */
  shared?: SharedView | undefined;
}

/** Everything wired together: client, store, job set, poller, metrics, reporting, schedule and HTTP server. */
export class Exporter {
  /** `/metrics` as served over HTTP: one render for all concurrent scrapers, cached with its gzip. */
  readonly scrapes: ScrapeCache;
  /** Shared store only: `/metrics/replica`, this replica's self and process metrics. */
  readonly replicaScrapes: ScrapeCache | undefined;
  private schedule: PollSchedule | undefined;
  private server: Server | undefined;
  private ready = false;

  private constructor(private readonly parts: Parts) {
    const options = { maxAgeMs: METRICS_MAX_AGE_MS };
    const { metrics, self, shared } = parts;
    if (shared) {
      // Every replica serves the same build families from the shared store; its own metrics go apart.
      this.scrapes = new ScrapeCache(
        {
          version: () => metrics.version,
          parts: (format) => Promise.resolve(wholeBody(metrics.parts(format), format)),
          refresh: () => this.sync(),
        },
        options,
      );
      this.replicaScrapes = new ScrapeCache(
        { version: () => self.version, parts: async (format) => wholeBody(await self.parts(METRICS_MAX_AGE_MS, format), format) },
        options,
      );
    } else {
      this.scrapes = new ScrapeCache(
        { version: () => metrics.version + self.version, parts: (format) => this.expositionParts(METRICS_MAX_AGE_MS, format) },
        options,
      );
    }
  }

  static async create(options: ExporterOptions): Promise<Exporter> {
    const { config, logger } = options;
    const self = new SelfMetrics(VERSION);
    const layout = counterLayout(config);
    const metrics = new BuildMetrics({
      ...layout,
      jobHistograms: config.metrics.job_histograms,
      recovery: config.metrics.recovery.enabled,
      consoleLink: consoleLinks(config),
    });
    const events = createReporter({ logger, self, metrics, endpoint: config.codearts.endpoint });
    const periodSeconds = schedulePeriodSeconds(config.poll.schedule, config.poll.timezone);
    const transport = createTransport(config);
    logger.info({ endpoint: config.codearts.endpoint, network: transport.describe() }, 'CodeArts connection');
    const configured = createAuthProvider(config, events, transport);
    const auth = options.wrapAuth ? options.wrapAuth(configured) : configured;
    const client = createClient(config, { auth, transport, events, periodSeconds });
    const store = options.openStore
      ? await options.openStore(layout, events)
      : await openConfiguredStore(config, layout, events, periodSeconds);
    const clock = options.clock ?? systemClock;
    const jobs = createJobSet(config, { client, store, events, clock, self });
    const poller = new Poller(pollerOptions(config, { client, store, jobs, events, clock }));
    // Shown at zero from the start, so that increase() sees the first build whose details are given up.
    if (config.metrics.steps.enabled) self.detailMissing.inc({ kind: 'steps' }, 0);
    if (config.metrics.failures.enabled) self.detailMissing.inc({ kind: 'analysis' }, 0);
    await jobs.init();
    const watchdog = new CycleWatchdog(periodSeconds * 1000, config.poll.watchdog_periods);
    const shared = sharedView(store);
    return new Exporter({
      config,
      logger,
      events,
      metrics,
      self,
      client,
      auth,
      store,
      jobs,
      poller,
      transport,
      watchdog,
      periodSeconds,
      shared,
    });
  }

  get config(): Config {
    return this.parts.config;
  }

  get client(): CodeArtsClient {
    return this.parts.client;
  }

  /** The full `/metrics` body, rendered now (uncached): build metrics, then self and process metrics. */
  async renderMetrics(format: ExpositionFormat = 'text'): Promise<string> {
    // In slices that yield to the event loop, so /healthz keeps answering during a big scrape.
    return joinParts(await this.expositionParts(0, format));
  }

  /** Per-job view for the landing page and the bench: id, name, state as last committed, last reached. */
  describeJobs(): LandingJob[] {
    return this.parts.jobs
      .jobs()
      .map((job) => ({ id: job.id, name: job.name, state: job.stored?.state, lastReachedAt: job.lastReachedAt }));
  }

  /** The jobs to poll (discovery listed afresh) with what the store holds for each; a job never polled has no state. */
  async polledJobs(signal?: AbortSignal): Promise<Array<{ ref: JobRef; state: JobState | undefined }>> {
    const { jobs, store } = this.parts;
    await jobs.refresh(signal);
    return Promise.all(
      jobs.jobs().map(async (job) => {
        const ref: JobRef = { id: job.id, name: job.name, ...(job.project ? { project: job.project } : {}) };
        return { ref, state: job.stored?.state ?? (await store.begin(job.id))?.state };
      }),
    );
  }

  /** The body's parts; the registry's text is reused for up to `registryMaxAgeMs` while its tracked series are unchanged. */
  private async expositionParts(registryMaxAgeMs = 0, format: ExpositionFormat = 'text'): Promise<ExpositionPart[]> {
    return wholeBody([...this.parts.metrics.parts(format), ...(await this.parts.self.parts(registryMaxAgeMs, format))], format);
  }

  /** One cycle, without schedule or server (`once`, tests). */
  async runCycle(signal?: AbortSignal): Promise<CycleSummary> {
    const { client, jobs, poller, watchdog, events, store } = this.parts;
    const health = store.health?.();
    if (health && !health.ok) {
      // Nothing could be committed: polling pauses until the store is back.
      const summary: CycleSummary = {
        outcome: 'failure',
        jobsReached: 0,
        jobsFailed: jobs.jobs().length,
        buildsCounted: 0,
        jobsSkipped: 0,
        seconds: 0,
      };
      watchdog.cycleFinished();
      events.emit({ type: 'cycle_finished', summary, aborted: false });
      return summary;
    }
    client.beginCycle();
    await jobs.refresh(signal);
    const summary = await poller.runCycle(signal);
    watchdog.cycleFinished();
    this.ready = true;
    events.emit({ type: 'cycle_finished', summary, aborted: signal?.aborted ?? false });
    return summary;
  }

  /** Starts the HTTP server and the schedule; resolves with the server's address. */
  async start(): Promise<{ url: string }> {
    const { config, logger, events, watchdog } = this.parts;
    const server = createServer(this.app());
    await listen(server, config.server.port, config.server.host);
    this.server = server;
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
    this.schedule = new PollSchedule({
      expression: config.poll.schedule,
      timezone: config.poll.timezone,
      logger,
      events,
      runCycle: (signal) => this.runCycle(signal),
    });
    watchdog.reset();
    this.schedule.start();
    logger.info({ url, version: VERSION }, 'exporter listening');
    return { url };
  }

  /** Graceful stop: schedule off, running cycle aborted and awaited, state flushed, server closed. */
  async stop(): Promise<void> {
    await this.schedule?.stop();
    await this.parts.store.close();
    await this.parts.transport.close().catch(() => undefined);
    const server = this.server;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 2000);
      await closed;
      clearTimeout(force);
    }
  }

  private readiness(): { ready: boolean; reason?: string } {
    const health = this.parts.store.health?.();
    if (health && !health.ok) return { ready: false, reason: health.reason };
    return this.ready ? { ready: true } : { ready: false, reason: 'first poll cycle not finished' };
  }

  /** Shared store: shows what other replicas committed since the last scrape (re-reading only jobs whose version changed). */
  private async sync(): Promise<void> {
    const { shared, store, jobs, metrics } = this.parts;
    const health = store.health?.();
    if (!shared || (health && !health.ok)) throw new MetricsUnavailableError(health && !health.ok ? health.reason : 'no shared store');
    let changed: Map<string, StoredJob>;
    try {
      changed = await shared.changes();
    } catch (error) {
      throw new MetricsUnavailableError(`shared state unreadable (${(error as Error).message})`);
    }
    if (changed.size === 0) return;
    for (const job of jobs.jobs()) {
      const stored = changed.get(job.id);
      if (!stored || (job.stored && job.stored.version >= stored.version)) continue;
      job.stored = stored;
      metrics.show(job.id, stored);
    }
  }

  private app(): ReturnType<typeof createServerApp> {
    const { config, logger, auth, watchdog } = this.parts;
    return createServerApp({
      metrics: this.scrapes,
      formats: config.server.openmetrics ? ['text', 'openmetrics'] : ['text'],
      onError: (error) => logger.error({ err: error }, 'HTTP request failed'),
      replicaMetrics: this.replicaScrapes,
      isReady: () => this.readiness(),
      isHealthy: () => watchdog.check(),
      landing: () => ({
        version: VERSION,
        endpoint: config.codearts.endpoint,
        auth: auth.describe(),
        schedule: config.poll.schedule,
        ready: this.ready,
        jobs: this.describeJobs(),
      }),
    });
  }
}

/** Each job's link to its builds in the console (`codearts.console_url`); undefined when the links are off. */
function consoleLinks(config: Config): ((job: JobRef) => ReturnType<typeof consoleLink>) | undefined {
  if (config.codearts.console_url === '') return undefined;
  const parsed = parseConsoleUrl(config.codearts.console_url);
  // The config schema has checked the template.
  if ('error' in parsed) throw new Error(`codearts.console_url: ${parsed.error}`);
  const { region } = config.codearts;
  return (job) => consoleLink(parsed.template, { region, jobId: job.id, projectId: job.project });
}

/** The static jobs, plus the discovered ones when `projects` is set. */
function createJobSet(config: Config, parts: Pick<Parts, 'client' | 'store' | 'events' | 'self'> & { clock: Clock }): JobSet {
  const { client, store, events, clock, self } = parts;
  let discovery: JobDiscovery | undefined;
  if (config.projects.length > 0) {
    for (const project of config.projects) self.addProject(project.id);
    discovery = new JobDiscovery(client, config.projects, config.poll.discovery_interval_ms, events, clock);
  }
  return new JobSet({
    store,
    events,
    clock,
    discovery,
    staticJobs: config.jobs,
    graceMs: config.poll.removed_job_grace_ms,
    keepMs: config.state.keep_removed_jobs_ms,
  });
}

/** The poller's settings from the configuration (poll.*, metrics.steps/failures/recovery). */
function pollerOptions(config: Config, parts: Pick<PollerOptions, 'client' | 'store' | 'jobs' | 'events' | 'clock'>): PollerOptions {
  return {
    ...parts,
    startAt: config.poll.start_at,
    maxBuildsPerJobPerCycle: config.poll.max_builds_per_job_per_cycle,
    maxPendingAgeSeconds: config.poll.max_pending_age_ms / 1000,
    jobConcurrency: Math.max(4, config.codearts.max_concurrency * 2),
    changeFeed: config.poll.change_feed,
    fullProbeIntervalSeconds: config.poll.full_probe_interval_ms / 1000,
    details: {
      steps: config.metrics.steps.enabled,
      failures: config.metrics.failures.enabled,
      retryForSeconds: config.metrics.details_retry_for_ms / 1000,
    },
    health: config.metrics.recovery.enabled ? { flakyWindowSeconds: config.metrics.recovery.flaky_window_ms / 1000 } : undefined,
  };
}

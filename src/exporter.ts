import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAuthProvider } from './wiring/auth.js';
import { createClient, createTransport } from './wiring/client.js';
import type { AuthProvider } from './codearts/auth/types.js';
import type { CodeArtsClient } from './codearts/client.js';
import type { HttpTransport } from './codearts/transport.js';
import type { Config } from './config/schema.js';
import type { Logger } from './log/logger.js';
import { BuildMetrics } from './metrics/build-metrics.js';
import { joinParts, type ExpositionPart } from './metrics/exposition-part.js';
import { SelfMetrics } from './metrics/self-metrics.js';
import { JobDiscovery, mergeJobs } from './poller/discovery.js';
import { Poller, type CycleSummary } from './poller/poller.js';
import { PollSchedule, schedulePeriodSeconds } from './poller/schedule.js';
import { createServerApp } from './server/app.js';
import { listen } from './server/listen.js';
import { CycleWatchdog } from './server/watchdog.js';
import { ScrapeCache } from './server/scrape-cache.js';
import { FileStore } from './state/file-store.js';
import type { Store } from './state/store.js';
import { VERSION } from './version.js';

/**
 * How long a `/metrics` body is served without rendering it again when nothing tracked changed:
 * the bound on how old api_requests_total, the request duration histogram, api_retries_total and
 * the process metrics in a scrape can be (everything else renders again on its next change).
 */
export const METRICS_MAX_AGE_MS = 1000;

export interface ExporterOptions {
  config: Config;
  logger: Logger;
  /** Replaces the file store (tests, a future Redis store). */
  store?: Store;
  /** Decorates the auth provider built from the config (tests: tampering with signed requests). */
  wrapAuth?: (auth: AuthProvider) => AuthProvider;
  /** The poller's clock in Unix seconds (tests: the simulator's virtual time). */
  now?: () => number;
}

/** Everything wired together: client, store, poller, metrics, schedule and HTTP server. */
export class Exporter {
  readonly metrics: BuildMetrics;
  readonly self: SelfMetrics;
  readonly client: CodeArtsClient;
  /** `/metrics` as served over HTTP: one render for all concurrent scrapers, cached with its gzip. */
  readonly scrapes: ScrapeCache;
  private schedule: PollSchedule | undefined;
  private discovery: JobDiscovery | undefined;
  private discovered: Array<{ id: string; name: string }> = [];
  private server: Server | undefined;
  private ready = false;

  private constructor(
    readonly config: Config,
    readonly logger: Logger,
    readonly store: Store,
    readonly poller: Poller,
    metrics: BuildMetrics,
    self: SelfMetrics,
    client: CodeArtsClient,
    private readonly network: { transport: HttpTransport; watchdog: CycleWatchdog },
  ) {
    this.metrics = metrics;
    this.self = self;
    this.client = client;
    this.scrapes = new ScrapeCache(
      { version: () => this.metrics.version + this.self.version, parts: () => this.expositionParts(METRICS_MAX_AGE_MS) },
      { maxAgeMs: METRICS_MAX_AGE_MS },
    );
  }

  static async create(options: ExporterOptions): Promise<Exporter> {
    const { config, logger } = options;
    const self = new SelfMetrics(VERSION);
    const metrics = new BuildMetrics({
      durationBuckets: config.metrics.duration_buckets,
      queueBuckets: config.metrics.queue_buckets,
      jobHistograms: config.metrics.job_histograms,
      recordLabels: config.metrics.record_labels,
    });
    const periodSeconds = schedulePeriodSeconds(config.poll.schedule, config.poll.timezone);
    const transport = createTransport(config);
    logger.info({ endpoint: config.codearts.endpoint, network: transport.describe() }, 'CodeArts connection');
    const configured = createAuthProvider(config, logger, self, transport);
    const auth = options.wrapAuth ? options.wrapAuth(configured) : configured;
    const client = createClient(config, { auth, transport, self, logger, periodSeconds });
    const store =
      options.store ??
      (await FileStore.open(config.state.path, (error) => {
        self.stateSaveErrors.inc();
        logger.error({ err: error, path: config.state.path }, 'saving state failed; counts wait until it can be saved');
      }));
    const poller = new Poller({
      client,
      store,
      metrics,
      self,
      logger,
      startAt: config.poll.start_at,
      maxBuildsPerJobPerCycle: config.poll.max_builds_per_job_per_cycle,
      maxPendingAgeSeconds: config.poll.max_pending_age_ms / 1000,
      ...(options.now ? { now: options.now } : {}),
      jobConcurrency: Math.max(4, config.codearts.max_concurrency * 2),
    });
    await poller.init(config.jobs.map((job) => ({ id: job.id, name: job.name ?? job.id })));
    const watchdog = new CycleWatchdog(periodSeconds * 1000, config.poll.watchdog_periods);
    const exporter = new Exporter(config, logger, store, poller, metrics, self, client, { transport, watchdog });
    if (config.projects.length > 0) {
      for (const project of config.projects) self.addProject(project.id);
      exporter.discovery = new JobDiscovery(client, config.projects, config.poll.discovery_interval_ms, logger, {
        onProject: ({ projectId, jobs, ok }) => {
          self.discoveredJobs.set({ project_id: projectId }, jobs);
          if (!ok) self.discoveryErrors.inc({ project_id: projectId });
        },
      });
    }
    return exporter;
  }

  /** The full `/metrics` text, rendered now (uncached): build metrics, then self and process metrics. */
  async renderMetrics(): Promise<string> {
    // In slices that yield to the event loop, so /healthz keeps answering during a big scrape.
    return joinParts(await this.expositionParts());
  }

  /** The body's parts; the registry's text is reused for up to `registryMaxAgeMs` while its tracked series are unchanged. */
  private async expositionParts(registryMaxAgeMs = 0): Promise<ExpositionPart[]> {
    return [...this.metrics.parts(), ...(await this.self.parts(registryMaxAgeMs))];
  }

  /** One cycle, without schedule or server (`once`, tests). */
  async runCycle(signal?: AbortSignal): Promise<CycleSummary> {
    this.client.beginCycle();
    if (this.discovery) await this.refreshJobs(signal);
    const summary = await this.poller.runCycle(signal);
    this.network.watchdog.cycleFinished();
    this.ready = true;
    this.logger.info(
      {
        outcome: summary.outcome,
        jobs_reached: summary.jobsReached,
        jobs_failed: summary.jobsFailed,
        builds_counted: summary.buildsCounted,
        seconds: Number(summary.seconds.toFixed(3)),
      },
      'poll cycle finished',
    );
    return summary;
  }

  /** Lists projects when discovery is due; every cycle applies the grace and retention periods. */
  private async refreshJobs(signal?: AbortSignal): Promise<void> {
    if (this.discovery?.isDue()) this.discovered = await this.discovery.discover(signal);
    if (signal?.aborted) return;
    const { poll, state } = this.config;
    await this.poller.reconcile(mergeJobs(this.config.jobs, this.discovered), poll.removed_job_grace_ms, state.keep_removed_jobs_ms);
  }

  /** Starts the HTTP server and the schedule; resolves with the server's address. */
  async start(): Promise<{ url: string }> {
    const app = createServerApp({
      metrics: this.scrapes,
      onError: (error) => this.logger.error({ err: error }, 'HTTP request failed'),
      isReady: () => (this.ready ? { ready: true } : { ready: false, reason: 'first poll cycle not finished' }),
      isHealthy: () => this.network.watchdog.check(),
      landing: () => ({
        version: VERSION,
        endpoint: this.config.codearts.endpoint,
        auth: describeAuthKind(this.config),
        schedule: this.config.poll.schedule,
        ready: this.ready,
        jobs: this.poller.describeJobs(),
      }),
    });
    const server = createServer(app);
    await listen(server, this.config.server.port, this.config.server.host);
    this.server = server;
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
    this.schedule = new PollSchedule({
      expression: this.config.poll.schedule,
      timezone: this.config.poll.timezone,
      logger: this.logger,
      runCycle: (signal) => this.runCycle(signal),
      onSkipped: () => this.self.skippedPolls.inc(),
    });
    this.network.watchdog.reset();
    this.schedule.start();
    this.logger.info({ url, version: VERSION }, 'exporter listening');
    return { url };
  }

  /** Graceful stop: schedule off, running cycle aborted and awaited, state flushed, server closed. */
  async stop(): Promise<void> {
    await this.schedule?.stop();
    await this.store.close();
    await this.network.transport.close().catch(() => undefined);
    const server = this.server;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 2000);
      await closed;
      clearTimeout(force);
    }
  }
}

function describeAuthKind(config: Config): string {
  switch (config.codearts.auth.kind) {
    case 'token':
      return 'static token';
    case 'iam':
      return `IAM user ${config.codearts.auth.user}`;
    case 'aksk':
      return 'AK/SK signing';
  }
}

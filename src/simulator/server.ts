import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createGateway } from './auth.js';
import { createClock } from './clock.js';
import { FaultTable, renderFault } from './faults.js';
import { availability, jobFeedProblems, resolveJobFeed, resolveOptions, RUNNING_STATUS_MODES, type ResolvedJobFeed } from './options.js';
import { createRandom, deriveSeed } from './random.js';
import { RequestRecorder } from './requests.js';
import { respondError, type SimResponse } from './responses.js';
import { answerRoute, classifyRoute, type Route } from './routes.js';
import type { JobFeedOptions, RunningStatusMode, Simulator, SimulatorOptions } from './types.js';
import { World } from './world.js';

const HOLD_MS = 30_000;
const MAX_BODY_BYTES = 64 * 1024;

/** Starts the fake CodeArts Build API. Deterministic given the seed and the sequence of advance() calls. */
export async function createSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const host = new SimulatorHost(resolveOptions(options));
  await host.listen();
  return host.api();
}

type Settings = ReturnType<typeof resolveOptions>;

/** The simulator's state and HTTP server; `api()` is what tests and the bench drive. */
class SimulatorHost {
  private readonly clock: ReturnType<typeof createClock>;
  private readonly world: World;
  private readonly faults: FaultTable;
  private readonly recorder = new RequestRecorder(() => performance.now());
  private readonly gateway: ReturnType<typeof createGateway>;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: Server;
  private latencyMs: number;
  private runningStatus: RunningStatusMode;
  private recordList: RunningStatusMode;
  private jobFeed: ResolvedJobFeed;
  private authClockOffsetSeconds = 0;
  private closing: Promise<void> | undefined;
  private url = '';
  private port = 0;

  constructor(private readonly settings: Settings) {
    const startMs = Math.round(settings.startTime * 1000);
    this.clock = createClock(settings.clock, startMs, settings.speed, () => performance.now());
    this.world = new World(
      { seed: settings.seed, buildEverySeconds: settings.buildEverySeconds, gapProbability: settings.gapProbability },
      createRandom(deriveSeed(settings.seed, 'world')),
    );
    if (typeof settings.jobs === 'number') {
      for (let i = 0; i < settings.jobs; i++) this.world.addRandomJob(startMs);
    } else {
      for (const spec of settings.jobs) this.world.addJob(spec, startMs);
    }
    this.faults = new FaultTable(createRandom(deriveSeed(settings.seed, 'faults')));
    this.gateway = createGateway(settings.auth, settings.token, () => Date.now() / 1000 + this.authClockOffsetSeconds);
    this.latencyMs = settings.latencyMs;
    this.runningStatus = settings.runningStatus;
    this.recordList = settings.recordList;
    this.jobFeed = settings.jobFeed;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) send(res, respondError(500, 'CB.00060101', 'Internal server error'));
      });
    });
  }

  async listen(): Promise<void> {
    const { server, settings } = this;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(settings.port, settings.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
    this.url = `http://${host}:${this.port}`;
  }

  private later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, ms);
    this.timers.add(timer);
  }

  private answerNormally(req: IncomingMessage, route: Route, body: string): SimResponse {
    if (route.endpoint === 'iam-token') return this.gateway.answerIam(body);
    const auth = this.gateway.check(req, body);
    if (!auth.ok) return { status: auth.status, body: auth.body };
    const { jobListShape, jobListQuirks, stageUnit } = this.settings;
    return answerRoute(route, {
      world: this.world,
      nowMs: this.clock.nowMs(),
      runningStatus: this.runningStatus,
      jobListShape,
      jobListQuirks,
      jobFeed: this.jobFeed,
      stageUnit,
      recordList: this.recordList,
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = classifyRoute(req.method ?? 'GET', req.url ?? '/');
    const body = await readBody(req, route.endpoint === 'iam-token' || this.gateway.needsBody);
    const fault = this.faults.take(route.endpoint, route.jobId);
    const response = fault
      ? renderFault(fault, () => this.answerNormally(req, route, body), req.url)
      : this.answerNormally(req, route, body);
    this.recorder.record(route.endpoint, response.status, route.jobId, route.buildNo);
    this.deliver(req, res, response);
  }

  /** Sends an answer, or does what a fault asks instead (reset, never answer, a slow or endless body, a late 504). */
  private deliver(req: IncomingMessage, res: ServerResponse, response: SimResponse): void {
    switch (response.action) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'blackhole':
        // Never answered: the connection stays open until the client gives up or close() ends it.
        return;
      case 'slow-body':
        sendSlowBody(res, this.timers);
        return;
      case 'endless-body':
        sendEndlessBody(res);
        return;
      case 'hold':
        this.later(HOLD_MS, () => send(res, respondError(504, 'APIG.0201', 'Backend timeout')));
        return;
      default:
        if (this.latencyMs > 0) this.later(this.latencyMs, () => send(res, response));
        else send(res, response);
    }
  }

  private close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const timer of this.timers) clearTimeout(timer);
      this.timers.clear();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  api(): Simulator {
    const { clock, world, faults, recorder, gateway } = this;
    return {
      url: this.url,
      port: this.port,
      now: () => clock.nowMs() / 1000,
      advance: (seconds) => clock.advance(seconds),
      groundTruth: () => world.groundTruth(clock.nowMs()),
      jobs: () => world.jobs(),
      addJob: (spec) => world.addJob(spec, clock.nowMs()),
      removeJob: (id) => world.removeJob(id),
      renameJob: (id, name) => world.renameJob(id, name),
      setRunningStatus: (mode) => this.setRunningStatus(mode),
      setJobFeed: (options) => this.setJobFeed(options),
      setRecordList: (enabled) => this.setRecordList(enabled),
      setNotFoundShape: (id, shape) => world.setNotFoundShape(id, shape),
      setRetention: (id, deletedBelow) => world.setRetention(id, deletedBelow),
      triggerBuild: (id, options = {}) => world.triggerBuild(id, options, clock.nowMs()),
      overrideBuild: (id, buildNo, override) => world.overrideBuild(id, buildNo, override, clock.nowMs()),
      requests: () => recorder.snapshot(),
      resetRequests: () => recorder.reset(),
      inject: (kind, opts) => faults.inject(kind, opts),
      clearFaults: () => faults.clear(),
      setLatency: (ms) => this.setLatency(ms),
      revokeTokens: () => gateway.revokeTokens(),
      setAuthClockOffset: (seconds) => this.setAuthClockOffset(seconds),
      close: () => this.close(),
    };
  }

  private setRunningStatus(mode: RunningStatusMode): void {
    if (!RUNNING_STATUS_MODES.includes(mode)) throw new TypeError(`running-status mode must be one of ${RUNNING_STATUS_MODES.join(', ')}`);
    this.runningStatus = mode;
  }

  private setRecordList(enabled: boolean | RunningStatusMode): void {
    const mode = availability(enabled);
    if (!RUNNING_STATUS_MODES.includes(mode))
      throw new TypeError(`record-list mode must be true, false or one of ${RUNNING_STATUS_MODES.join(', ')}`);
    this.recordList = mode;
  }

  private setJobFeed(options: JobFeedOptions): void {
    const feed = resolveJobFeed(options, this.jobFeed);
    const problems = jobFeedProblems(feed);
    if (problems.length > 0) throw new TypeError(problems.join('; '));
    this.jobFeed = feed;
  }

  private setLatency(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latency must be >= 0 ms, got ${ms}`);
    this.latencyMs = ms;
  }

  private setAuthClockOffset(seconds: number): void {
    if (!Number.isFinite(seconds)) throw new RangeError(`auth clock offset must be finite, got ${seconds}`);
    this.authClockOffsetSeconds = seconds;
  }
}

function send(res: ServerResponse, response: SimResponse): void {
  if (res.destroyed) return;
  const headers = {
    'Content-Type': 'application/json;charset=UTF-8',
    'Content-Length': String(Buffer.byteLength(response.body)),
    ...response.headers,
  };
  res.writeHead(response.status, headers);
  if (response.action === 'truncate') {
    // Promise the whole body, deliver half, then drop the connection: a real cut-off mid-transfer.
    const half = Buffer.from(response.body).subarray(0, Math.floor(Buffer.byteLength(response.body) / 2));
    res.write(half, () => res.destroy());
  } else {
    res.end(response.body);
  }
}

/** 200 headers promising a large body, then one byte a second until the client goes away. */
function sendSlowBody(res: ServerResponse, timers: Set<NodeJS.Timeout>): void {
  res.writeHead(200, { 'Content-Type': 'application/json;charset=UTF-8', 'Content-Length': String(1024 * 1024) });
  res.write('{');
  const timer = setInterval(() => {
    if (res.destroyed) {
      clearInterval(timer);
      timers.delete(timer);
    } else {
      res.write(' ');
    }
  }, 1000);
  timers.add(timer);
}

/** 200 headers, then a chunked body written as fast as the client reads it, until it goes away. */
function sendEndlessBody(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'application/json;charset=UTF-8' });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  res.write('{"status":"success","result":{"padding":"');
  const pump = (): void => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', pump);
  };
  pump();
}

/** Reads the body only where a route uses it; otherwise drains it so keep-alive keeps working. */
async function readBody(req: IncomingMessage, wanted: boolean): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (wanted && size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

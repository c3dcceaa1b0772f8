import { createRandom, deriveSeed, type Random } from './random.js';
import {
  FINISHED_STATUSES,
  finishedStatus,
  QUEUED_STATUSES,
  RUNNING_STATUSES,
  TRIGGER_TYPES,
  type FinishedStatus,
  type TriggerValue,
} from './statuses.js';
import type { BuildOverride, NotFoundShape, TriggerOptions } from './types.js';

/** A job spec with every default filled in. */
export interface ResolvedJobSpec {
  id: string;
  name: string;
  projectId: string;
  history: number;
  deletedBelow: number;
  buildEverySeconds: number;
  historyEverySeconds: number;
  notFound: NotFoundShape;
}

/** Per-job values that stay the same for every build of the job. */
export interface JobProfile {
  buildProjectId: string;
  repoName: string;
  repoId: string;
  userIds: string[];
  buildConfigType: 'YAML' | 'ACTION';
  privateSlave: 0 | 1;
}

/** Everything about one build, drawn once when the build is created. Times are Unix milliseconds. */
export interface SimBuild {
  buildNo: number;
  createdMs: number;
  startedMs: number;
  finishedMs: number;
  queuedStatus: string;
  runningStatus: string;
  final: FinishedStatus;
  trigger: TriggerValue;
  /** `duration` once finished; null for the builds whose record omits it. */
  durationField: number | null;
  /** `duration` while not finished. */
  pendingDuration: 0 | null;
  offsetMinutes: 0 | 480;
  infoId: string;
  recordId: string;
  executionId: string;
  userId: string;
  branch: string;
  tag: string | null;
  commit: string | null;
  commitMessage: string | null;
  /** runnable_time is this long before create_time: nonsense, like the documented example. */
  runnableLeadMs: number;
  /** Aborted while queued: finished without ever starting (start_time stays null). */
  neverStarted?: true;
  /** The next this many record-info answers say the build does not exist. */
  hiddenAnswers?: number;
  hiddenShape?: NotFoundShape;
  /** Its record answers with a schema violation. */
  invalidRecord?: true;
}

export type BuildPhase = 'queued' | 'running' | 'finished';

const MAX_QUEUE_MS = 120_000;
const MIN_DURATION_MS = 20_000;
const MAX_DURATION_MS = 2_400_000;
const BRANCHES = ['master', 'main', 'develop', 'release/2.4', 'feature/login', 'hotfix/npe'];
const COMMIT_MESSAGES = ['fix flaky test', 'bump dependencies', 'add health endpoint', 'refactor build script'];

export function classifyPhase(build: SimBuild, nowMs: number): BuildPhase {
  if (nowMs < build.startedMs) return 'queued';
  return nowMs < build.finishedMs ? 'running' : 'finished';
}

/**
 * The builds of one job, generated lazily from the job's own random stream. Draws happen in build
 * order, so the builds at time t depend only on (seed, spec, epoch, t), never on how time got there.
 */
export class JobTimeline {
  readonly profile: JobProfile;
  private readonly random: Random;
  private readonly builds: SimBuild[] = [];
  private readonly byNumber = new Map<number, SimBuild>();
  private readonly byRecordId = new Map<string, SimBuild>();
  private nextNumber: number;
  private nextArrivalMs: number;

  constructor(
    readonly spec: ResolvedJobSpec,
    private readonly seed: number,
    epochMs: number,
    private readonly gapProbability: number,
  ) {
    this.random = createRandom(deriveSeed(seed, `job:${spec.id}`));
    this.profile = drawProfile(this.random, spec.name);
    this.createHistory(epochMs);
    this.nextNumber = spec.history + 1;
    const meanMs = spec.buildEverySeconds * 1000;
    this.nextArrivalMs = meanMs > 0 ? epochMs + this.drawInterval(meanMs) : Number.POSITIVE_INFINITY;
  }

  /** Creates every build that has arrived by nowMs. */
  advanceTo(nowMs: number): void {
    const meanMs = this.spec.buildEverySeconds * 1000;
    while (this.nextArrivalMs <= nowMs) {
      while (this.random.chance(this.gapProbability)) this.nextNumber++;
      this.addBuild(this.drawBuild(this.nextNumber++, this.nextArrivalMs));
      this.nextArrivalMs += this.drawInterval(meanMs);
    }
  }

  /** Builds the API shows (created and not deleted by retention), ascending by number. */
  visible(nowMs: number): SimBuild[] {
    this.advanceTo(nowMs);
    return this.builds.filter((build) => build.buildNo >= this.spec.deletedBelow);
  }

  find(buildNo: number, nowMs: number): SimBuild | undefined {
    this.advanceTo(nowMs);
    return buildNo >= this.spec.deletedBelow ? this.byNumber.get(buildNo) : undefined;
  }

  /**
   * Starts a build now, as a user pressing "run" would: after `skip` numbers that will never exist,
   * optionally with a fixed queue time and duration. Returns its number.
   */
  trigger(nowMs: number, options: TriggerOptions = {}): number {
    this.advanceTo(nowMs);
    this.nextNumber += options.skipNumbers ?? 0;
    const build = this.drawBuild(this.nextNumber++, nowMs);
    const durationMs = options.durationSeconds !== undefined ? options.durationSeconds * 1000 : build.finishedMs - build.startedMs;
    if (options.queueSeconds !== undefined) build.startedMs = build.createdMs + options.queueSeconds * 1000;
    build.finishedMs = build.startedMs + durationMs;
    if (options.durationSeconds !== undefined) build.durationField = durationMs;
    if (options.status !== undefined) build.final = finishedStatus(options.status);
    this.addBuild(build);
    return build.buildNo;
  }

  /** Bends one existing build (see BuildOverride); throws for a build that does not exist yet. */
  override(buildNo: number, override: BuildOverride, nowMs: number): void {
    this.advanceTo(nowMs);
    const build = this.byNumber.get(buildNo);
    if (!build) throw new Error(`job ${this.spec.id} has no build ${buildNo} yet`);
    switch (override.kind) {
      case 'unknown-status':
        // Never finishes: the record keeps this status and no finish_time.
        build.queuedStatus = override.status;
        build.runningStatus = override.status;
        build.finishedMs = Number.POSITIVE_INFINITY;
        break;
      case 'aborted-in-queue':
        build.startedMs = build.createdMs + override.afterSeconds * 1000;
        build.finishedMs = build.startedMs;
        build.final = { raw: 'ABORTED', result: 'aborted', weight: 0 };
        build.durationField = 0;
        build.neverStarted = true;
        break;
      case 'invalid-record':
        build.invalidRecord = true;
        break;
      case 'not-found':
        build.hiddenAnswers = override.times;
        if (override.shape) build.hiddenShape = override.shape;
        else delete build.hiddenShape;
        break;
    }
  }

  /** History builds 1..history, all finished before the epoch. */
  private createHistory(epochMs: number): void {
    const meanMs = this.spec.historyEverySeconds * 1000;
    const created: number[] = [];
    let cursor = epochMs - MAX_QUEUE_MS - MAX_DURATION_MS - 60_000;
    for (let i = 0; i < this.spec.history; i++) {
      cursor -= this.drawInterval(meanMs);
      created.unshift(cursor);
    }
    created.forEach((createdMs, index) => this.addBuild(this.drawBuild(index + 1, createdMs)));
  }

  /** The visible build whose `build_record_id` this is. */
  findRecord(recordId: string, nowMs: number): SimBuild | undefined {
    this.advanceTo(nowMs);
    const build = this.byRecordId.get(recordId);
    return build && build.buildNo >= this.spec.deletedBelow ? build : undefined;
  }

  private addBuild(build: SimBuild): void {
    this.rerunCommit(build);
    this.builds.push(build);
    this.byNumber.set(build.buildNo, build);
    this.byRecordId.set(build.recordId, build);
  }

  /**
   * Half the builds that follow a failed or timed-out build run the same commit again (a retry),
   * drawn from the build's own stream so that the job's stream, and every other build, stay as they were.
   */
  private rerunCommit(build: SimBuild): void {
    const previous = this.builds.at(-1);
    if (!previous?.commit || (previous.final.result !== 'failure' && previous.final.result !== 'timeout')) return;
    if (!createRandom(deriveSeed(this.seed, `rerun:${this.spec.id}:${build.buildNo}`)).chance(0.5)) return;
    build.commit = previous.commit;
    build.commitMessage = previous.commitMessage;
  }

  private drawInterval(meanMs: number): number {
    return Math.max(1, Math.round(this.random.exponential(meanMs)));
  }

  private drawBuild(buildNo: number, createdMs: number): SimBuild {
    const r = this.random;
    const queueMs = r.chance(0.3) ? r.int(0, 2_000) : r.int(0, MAX_QUEUE_MS);
    const logMin = Math.log(MIN_DURATION_MS);
    const durationMs = Math.round(Math.exp(logMin + r.next() * (Math.log(MAX_DURATION_MS) - logMin)));
    const startedMs = createdMs + queueMs;
    const isTag = r.chance(0.1);
    const hasCommit = r.chance(0.8);
    return {
      buildNo,
      createdMs,
      startedMs,
      finishedMs: startedMs + durationMs,
      queuedStatus: r.pickWeighted(QUEUED_STATUSES).raw,
      runningStatus: r.pickWeighted(RUNNING_STATUSES).raw,
      final: r.pickWeighted(FINISHED_STATUSES),
      trigger: r.pickWeighted(TRIGGER_TYPES),
      // The service's own timer differs slightly from finish - start (the documented example: +68 ms).
      durationField: r.chance(0.05) ? null : durationMs + r.int(0, 150),
      pendingDuration: r.chance(0.5) ? 0 : null,
      offsetMinutes: r.chance(0.5) ? 0 : 480,
      infoId: r.uuid(),
      recordId: r.uuid(),
      executionId: `j_${r.hex(8)}`,
      userId: r.pick(this.profile.userIds),
      branch: r.pick(BRANCHES),
      tag: isTag ? `v2.${r.int(0, 9)}.${r.int(0, 30)}` : null,
      commit: hasCommit ? r.hex(40) : null,
      commitMessage: hasCommit ? r.pick(COMMIT_MESSAGES) : null,
      runnableLeadMs: r.int(60_000, 1_200_000),
    };
  }
}

function drawProfile(r: Random, name: string): JobProfile {
  return {
    buildProjectId: r.uuid(),
    repoName: name.replace(/-(ci|build|release|nightly)$/, ''),
    repoId: String(r.int(1_000_000_000, 2_147_483_647)),
    userIds: [r.hex(32), r.hex(32), r.hex(32)],
    buildConfigType: r.chance(0.7) ? 'YAML' : 'ACTION',
    privateSlave: r.chance(0.2) ? 1 : 0,
  };
}

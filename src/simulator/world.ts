import type { Random } from './random.js';
import { drawAnalysis, drawStages, truthCauses, truthSteps, type SimErrorNode, type SimStages } from './stages.js';
import { JobTimeline, classifyPhase, type ResolvedJobSpec, type SimBuild } from './timeline.js';
import type { BuildOverride, GroundTruthBuild, GroundTruthJob, NotFoundShape, SimJobSpec, TriggerOptions } from './types.js';

const NOT_FOUND_SHAPES: readonly NotFoundShape[] = ['404', '422-devcb', '422-cb', '403-cb', '200-fail', '200-empty', '200-invalid'];
const JOB_NAMES = [
  'backend-ci',
  'frontend-build',
  'mobile-release',
  'payments-service',
  'search-indexer',
  'docs-site',
  'data-pipeline',
  'auth-gateway',
  'infra-terraform',
  'ml-training',
  'billing-nightly',
  'android-app',
];

export interface WorldDefaults {
  seed: number;
  buildEverySeconds: number;
  gapProbability: number;
}

/** The jobs of the simulated tenant and their builds. The world changes only as virtual time passes. */
export class World {
  private readonly timelines = new Map<string, JobTimeline>();
  private generated = 0;
  readonly defaultProjectId: string;

  constructor(
    private readonly defaults: WorldDefaults,
    private readonly random: Random,
  ) {
    this.defaultProjectId = random.hex(32);
  }

  jobs(): SimJobSpec[] {
    return [...this.timelines.values()].map((timeline) => ({ ...timeline.spec }));
  }

  job(id: string): JobTimeline | undefined {
    return this.timelines.get(id);
  }

  /** Every job, in the order they were added. */
  allJobs(): JobTimeline[] {
    return [...this.timelines.values()];
  }

  /** The job and build a `build_record_id` belongs to. */
  findRecord(recordId: string, nowMs: number): { job: JobTimeline; build: SimBuild } | undefined {
    for (const job of this.timelines.values()) {
      const build = job.findRecord(recordId, nowMs);
      if (build) return { job, build };
    }
    return undefined;
  }

  /** A build's steps, the same on every call. */
  stagesOf(job: JobTimeline, build: SimBuild): SimStages {
    return drawStages(this.defaults.seed, job.spec.id, build);
  }

  /** A failed build's log analysis, the same on every call. */
  analysisOf(job: JobTimeline, build: SimBuild): SimErrorNode[] {
    return drawAnalysis(this.defaults.seed, job.spec.id, build, this.stagesOf(job, build));
  }

  jobsInProject(projectId: string): JobTimeline[] {
    return [...this.timelines.values()].filter((timeline) => timeline.spec.projectId === projectId);
  }

  /** Adds a job whose history ends before nowMs and whose new builds start arriving after it. */
  addJob(partial: Partial<SimJobSpec>, nowMs: number): SimJobSpec {
    const spec = this.resolveSpec(partial);
    if (this.timelines.has(spec.id)) throw new Error(`job ${spec.id} already exists`);
    this.timelines.set(spec.id, new JobTimeline(spec, this.defaults.seed, nowMs, this.defaults.gapProbability));
    return { ...spec };
  }

  /** Adds a job with a random name, history and retention. */
  addRandomJob(nowMs: number): SimJobSpec {
    const r = this.random;
    const history = r.chance(0.1) ? 0 : r.int(3, 80);
    const deletedBelow = history > 10 && r.chance(0.3) ? r.int(2, Math.floor(history / 2)) : 1;
    return this.addJob({ history, deletedBelow }, nowMs);
  }

  removeJob(id: string): void {
    if (!this.timelines.delete(id)) throw new Error(`no job ${id}`);
  }

  renameJob(id: string, name: string): void {
    this.timeline(id).spec.name = name;
  }

  setNotFoundShape(id: string, shape: NotFoundShape): void {
    if (!NOT_FOUND_SHAPES.includes(shape)) throw new TypeError(`notFound must be one of ${NOT_FOUND_SHAPES.join(', ')}`);
    this.timeline(id).spec.notFound = shape;
  }

  setRetention(id: string, deletedBelow: number): void {
    if (!Number.isInteger(deletedBelow) || deletedBelow < 1)
      throw new RangeError(`deletedBelow must be an integer >= 1, got ${deletedBelow}`);
    this.timeline(id).spec.deletedBelow = deletedBelow;
  }

  triggerBuild(id: string, options: TriggerOptions, nowMs: number): number {
    return this.timeline(id).trigger(nowMs, options);
  }

  overrideBuild(id: string, buildNo: number, override: BuildOverride, nowMs: number): void {
    this.timeline(id).override(buildNo, override, nowMs);
  }

  private timeline(id: string): JobTimeline {
    const timeline = this.timelines.get(id);
    if (!timeline) throw new Error(`no job ${id}`);
    return timeline;
  }

  groundTruth(nowMs: number): GroundTruthJob[] {
    return [...this.timelines.values()].map((timeline) =>
      describeJob(timeline, nowMs, (build) => ({ stages: this.stagesOf(timeline, build), analysis: this.analysisOf(timeline, build) })),
    );
  }

  private resolveSpec(partial: Partial<SimJobSpec>): ResolvedJobSpec {
    const index = this.generated++;
    const baseName = JOB_NAMES[index % JOB_NAMES.length] as string;
    const spec: ResolvedJobSpec = {
      id: partial.id ?? this.random.hex(32),
      name: partial.name ?? (index < JOB_NAMES.length ? baseName : `${baseName}-${Math.floor(index / JOB_NAMES.length)}`),
      projectId: partial.projectId ?? this.defaultProjectId,
      history: partial.history ?? 0,
      deletedBelow: partial.deletedBelow ?? 1,
      buildEverySeconds: partial.buildEverySeconds ?? this.defaults.buildEverySeconds,
      historyEverySeconds: 0,
      notFound: partial.notFound ?? '422-devcb',
    };
    spec.historyEverySeconds = partial.historyEverySeconds ?? (spec.buildEverySeconds || 300);
    validateSpec(spec);
    return spec;
  }
}

function validateSpec(spec: ResolvedJobSpec): void {
  const problems: string[] = [];
  if (!/^[0-9a-f]{32}$/.test(spec.id)) problems.push(`id must be 32 lowercase hex characters, got '${spec.id}'`);
  if (!/^[0-9a-f]{32}$/.test(spec.projectId)) problems.push(`projectId must be 32 hex characters, got '${spec.projectId}'`);
  if (spec.name.trim() === '') problems.push('name must not be empty');
  if (!Number.isInteger(spec.history) || spec.history < 0) problems.push(`history must be an integer >= 0, got ${spec.history}`);
  if (!Number.isInteger(spec.deletedBelow) || spec.deletedBelow < 1) {
    problems.push(`deletedBelow must be an integer >= 1, got ${spec.deletedBelow}`);
  }
  if (!Number.isFinite(spec.historyEverySeconds) || spec.historyEverySeconds <= 0) {
    problems.push(`historyEverySeconds must be > 0, got ${spec.historyEverySeconds}`);
  }
  if (!Number.isFinite(spec.buildEverySeconds) || spec.buildEverySeconds < 0) {
    problems.push(`buildEverySeconds must be >= 0, got ${spec.buildEverySeconds}`);
  }
  if (!NOT_FOUND_SHAPES.includes(spec.notFound)) problems.push(`notFound must be one of ${NOT_FOUND_SHAPES.join(', ')}`);
  if (problems.length > 0) throw new TypeError(`invalid job spec: ${problems.join('; ')}`);
}

type Details = (build: SimBuild) => { stages: SimStages; analysis: SimErrorNode[] };

function describeJob(timeline: JobTimeline, nowMs: number, detailsOf: Details): GroundTruthJob {
  const job: GroundTruthJob = {
    id: timeline.spec.id,
    name: timeline.spec.name,
    finished: [],
    inProgress: [],
    queued: [],
    existing: [],
    highest: 0,
  };
  for (const build of timeline.visible(nowMs)) {
    job.existing.push(build.buildNo);
    job.highest = Math.max(job.highest, build.buildNo);
    const phase = classifyPhase(build, nowMs);
    if (phase === 'finished') job.finished.push(describeBuild(build, detailsOf(build)));
    else job.inProgress.push(build.buildNo);
    if (phase === 'queued') job.queued.push(build.buildNo);
  }
  return job;
}

function describeBuild(build: SimBuild, { stages, analysis }: ReturnType<Details>): GroundTruthBuild {
  const described: GroundTruthBuild = {
    buildNo: build.buildNo,
    result: build.final.result,
    rawStatus: build.final.raw,
    triggerType: build.trigger.label,
    durationMs: build.durationField ?? build.finishedMs - build.startedMs,
    queueSeconds: (build.startedMs - build.createdMs) / 1000,
    createdAt: build.createdMs / 1000,
    startedAt: build.startedMs / 1000,
    finishedAt: build.finishedMs / 1000,
    steps: truthSteps(stages),
    failureCauses: truthCauses(analysis),
  };
  if (build.neverStarted) described.neverStarted = true;
  if (build.commit) described.commit = build.commit;
  return described;
}

import { formatTime } from './record.js';
import { createRandom, deriveSeed, type Random } from './random.js';
import type { SimBuild } from './timeline.js';
import type { GroundTruthCause, GroundTruthStep } from './types.js';

/**
 * The steps of simulated builds: drawn from their own random stream per build (never from the
 * job's stream, so adding them changed no build), answered as ShowBuildRecordFullStages
 * (`result.build_stages`, a map of BuildStageRecord) and ShowHistoryDetails (`build_steps`), the
 * models of the official SDK.
 */

/** How full-stages states `build_duration` and `pending_duration` (no document says). */
export type StageUnit = 'ms' | 's';

export interface SimStage {
  name: string;
  sequence: number;
  nodeId: number;
  createdMs: number;
  /** Set when the step ran. */
  startedMs?: number;
  finishedMs?: number;
  status: string;
  /** Whole seconds, so both units state it exactly. */
  runMs: number;
  pendingMs: number;
  /** The record leaves out both durations: only the times tell them. */
  timesOnly: boolean;
}

export interface SimStages {
  stages: SimStage[];
  /** full-stages answers an empty map (seen for failed builds); history-details still has the steps. */
  emptyMap: boolean;
}

const STEP_POOL = [
  'Code checkout',
  'Install dependencies',
  'Compile',
  'Unit tests',
  'Lint',
  'Build image',
  'Integration tests',
  'Package',
  'Upload artifact',
  'Security scan',
];

/** The steps every build of a job runs, in order (3 to 7 of the pool). */
export function jobSteps(seed: number, jobId: string): string[] {
  const r = createRandom(deriveSeed(seed, `steps:${jobId}`));
  const pool = [...STEP_POOL];
  return Array.from({ length: r.int(3, 7) }, () => pool.splice(r.int(0, pool.length - 1), 1)[0] as string);
}

/** A finished build's steps: they share its run time; a failed build stops at a failing step. */
export function drawStages(seed: number, jobId: string, build: SimBuild): SimStages {
  if (build.neverStarted) return { stages: [], emptyMap: false };
  const r = createRandom(deriveSeed(seed, `stages:${jobId}:${build.buildNo}`));
  const names = jobSteps(seed, jobId);
  const failed = build.final.result !== 'success';
  const failAt = failed ? r.int(0, names.length - 1) : names.length;
  const windows = split(r, build.finishedMs - build.startedMs, names.length);
  let at = build.startedMs;
  const stages = names.map((name, index): SimStage => {
    const window = windows[index] ?? 0;
    const stage = drawStage(r, name, index, at, window, index <= failAt);
    at += window;
    if (index === failAt) stage.status = build.final.result === 'failure' ? 'FAILED' : 'ABORTED';
    return stage;
  });
  return { stages, emptyMap: build.final.result === 'failure' && r.chance(0.3) };
}

function drawStage(r: Random, name: string, index: number, at: number, windowMs: number, ran: boolean): SimStage {
  const pendingMs = Math.min(Math.floor(windowMs / 4000), r.int(0, 20)) * 1000;
  const runMs = Math.max(0, Math.floor((windowMs - pendingMs) / 1000)) * 1000;
  const stage: SimStage = {
    name,
    sequence: index,
    nodeId: index + 1,
    createdMs: at,
    status: 'INIT',
    runMs: 0,
    pendingMs: 0,
    timesOnly: false,
  };
  if (!ran) return stage;
  return {
    ...stage,
    startedMs: at + pendingMs,
    finishedMs: at + pendingMs + runMs,
    status: 'COMPLETED',
    runMs,
    pendingMs,
    timesOnly: r.chance(0.1),
  };
}

/** `total` split into `parts` positive windows. */
function split(r: Random, total: number, parts: number): number[] {
  const weights = Array.from({ length: parts }, () => 0.2 + r.next());
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => Math.floor((total * w) / sum));
}

/** ShowBuildRecordFullStages' `result`: `{ build_stages: { [id]: BuildStageRecord } }`. */
export function renderFullStages(drawn: SimStages, build: SimBuild, unit: StageUnit): Record<string, unknown> {
  if (drawn.emptyMap) return { build_stages: {} };
  const time = (ms: number | undefined) => (ms === undefined ? null : formatTime(ms, build.offsetMinutes));
  const amount = (ms: number) => (unit === 'ms' ? ms : ms / 1000);
  const entries = drawn.stages.map((stage) => [
    `stage-${build.recordId.slice(0, 8)}-${stage.nodeId}`,
    {
      id: `${build.recordId.slice(0, 24)}${String(stage.nodeId).padStart(12, '0')}`,
      status: stage.status,
      status_code: stage.status === 'COMPLETED' ? 0 : 1,
      log_status: stage.startedMs === undefined ? 'none' : 'finished',
      create_time: time(stage.createdMs),
      schedule_time: time(stage.createdMs),
      queued_time: time(stage.createdMs),
      start_time: time(stage.startedMs),
      finish_time: time(stage.finishedMs),
      duration: stage.timesOnly ? null : amount(stage.pendingMs + stage.runMs),
      build_duration: stage.timesOnly ? null : amount(stage.runMs),
      pending_duration: stage.timesOnly ? null : amount(stage.pendingMs),
      build_record_id: build.recordId,
      execution_id: build.executionId,
      execution_stage_name: `stage_${stage.nodeId}`,
      display_name: stage.name,
      node_id: stage.nodeId,
      sequence: stage.sequence,
    },
  ]);
  return { build_stages: Object.fromEntries(entries) };
}

/** ShowHistoryDetailsResponse (the SDK's bare shape): the steps that ran, `build_time` in milliseconds. */
export function renderHistoryDetails(drawn: SimStages, build: SimBuild, jobName: string, projectId: string): Record<string, unknown> {
  return {
    job_name: jobName,
    build_number: build.buildNo,
    project_id: projectId,
    project_name: 'simulated-project',
    parameters: {},
    build_steps: drawn.stages
      .filter((s) => s.startedMs !== undefined)
      .map((s) => ({ name: s.name, status: s.status, build_time: s.runMs })),
  };
}

/** What the exporter must observe for a finished build's steps. */
export function truthSteps(drawn: SimStages): GroundTruthStep[] {
  return drawn.stages
    .filter((stage) => stage.startedMs !== undefined)
    .map((stage) =>
      drawn.emptyMap
        ? { step: stage.name, durationSeconds: stage.runMs / 1000 }
        : { step: stage.name, durationSeconds: stage.runMs / 1000, pendingSeconds: stage.pendingMs / 1000 },
    );
}

/** Error codes the simulated log analysis names (made up; CodeArts documents none). */
const ERROR_CODES = ['CB.00090001', 'CB.00090002', 'CB.00090003', 'CB.00090004', 'CB.00090005', 'CB.00090006'];

/** One error node of a failed build's log analysis; `code` undefined when the analysis did not succeed. */
export interface SimErrorNode {
  nodeId: number;
  step: string;
  code: string | undefined;
}

/** The log analysis of a failed build: the failing step, once or twice, with an error code (or none). */
export function drawAnalysis(seed: number, jobId: string, build: SimBuild, drawn: SimStages): SimErrorNode[] {
  if (build.final.result !== 'failure') return [];
  const r = createRandom(deriveSeed(seed, `analysis:${jobId}:${build.buildNo}`));
  const failing = drawn.stages.filter((stage) => stage.startedMs !== undefined).at(-1);
  const node = (): SimErrorNode => ({
    nodeId: failing?.nodeId ?? 0,
    step: failing?.name ?? 'Build',
    code: r.chance(0.1) ? undefined : r.pick(ERROR_CODES),
  });
  return r.chance(0.15) ? [node(), node()] : [node()];
}

/** ShowLogAnalysis' `result` (not in the SDK; the fields Huawei documents). */
export function renderAnalysis(nodes: readonly SimErrorNode[]): Record<string, unknown> {
  return {
    error_nodes: nodes.map((node) => ({
      node_id: node.nodeId,
      step: node.step,
      analyzed_success: node.code !== undefined,
      error_info: node.code === undefined ? null : { error_code: node.code, error_message: `step failed (${node.code})`, faq: '' },
    })),
  };
}

/** What the exporter must count for a failed build. */
export function truthCauses(nodes: readonly SimErrorNode[]): GroundTruthCause[] {
  return nodes.map((node) => ({ step: node.step, errorCode: node.code ?? 'unknown' }));
}

/** The fake CodeArts Build API: a seeded, virtual-clock world of jobs and builds behind real HTTP. */
export { createSimulator } from './server.js';
export { DEFAULT_TOKEN } from './options.js';
export type {
  BuildOverride,
  Endpoint,
  FaultKind,
  FaultOptions,
  GroundTruthBuild,
  GroundTruthJob,
  GroundTruthResult,
  JobFeedOptions,
  JobListShape,
  NotFoundShape,
  RequestCounts,
  RequestLogEntry,
  RunningStatusMode,
  SimJobSpec,
  Simulator,
  SimulatorOptions,
  TriggerOptions,
} from './types.js';

/** Every build metric this exporter serves: name, type and help (docs/metrics.md). */
const POLLED = 'Updated by the periodic poll of CodeArts Build, not at scrape time.';

export const BUILD_FAMILIES = {
  builds: { name: 'codearts_builds_total', type: 'counter', help: `Finished builds by result. ${POLLED}` },
  triggers: { name: 'codearts_build_triggers_total', type: 'counter', help: `Finished builds by trigger type. ${POLLED}` },
  duration: {
    name: 'codearts_build_duration_seconds',
    type: 'histogram',
    help: `Duration of finished builds in seconds. ${POLLED}`,
  },
  queue: {
    name: 'codearts_build_queue_duration_seconds',
    type: 'histogram',
    help: `Time builds waited between creation and start, in seconds. ${POLLED}`,
  },
  inProgress: { name: 'codearts_builds_in_progress', type: 'gauge', help: `Builds seen but not finished. ${POLLED}` },
  lastStatus: {
    name: 'codearts_build_last_status',
    type: 'gauge',
    help: `1 on the result of the latest finished build. ${POLLED}`,
  },
  lastDuration: {
    name: 'codearts_build_last_duration_seconds',
    type: 'gauge',
    help: `Duration of the latest finished build in seconds. ${POLLED}`,
  },
  lastNumber: { name: 'codearts_build_last_number', type: 'gauge', help: `Highest build number seen. ${POLLED}` },
  lastFinished: {
    name: 'codearts_build_last_finished_timestamp_seconds',
    type: 'gauge',
    help: `Finish time of the latest finished build (Unix seconds). ${POLLED}`,
  },
  lastSuccess: {
    name: 'codearts_build_last_success_timestamp_seconds',
    type: 'gauge',
    help: `Finish time of the latest successful build (Unix seconds). ${POLLED}`,
  },
  stepDuration: {
    name: 'codearts_build_step_duration_seconds',
    type: 'histogram',
    help: `Time the steps of finished builds ran, in seconds, by step (metrics.steps). ${POLLED}`,
  },
  stepPending: {
    name: 'codearts_build_step_pending_seconds',
    type: 'histogram',
    help: `Time the steps of finished builds waited before they ran, in seconds, by step (metrics.steps). ${POLLED}`,
  },
  failures: {
    name: 'codearts_build_failures_total',
    type: 'counter',
    help: `Failed builds by the step and error code of each error node of their log analysis (metrics.failures). ${POLLED}`,
  },
  recovery: {
    name: 'codearts_job_recovery_seconds',
    type: 'histogram',
    help: `Time to restore: from the first failed build after a success to the next successful build, in seconds (metrics.recovery). ${POLLED}`,
  },
  flaky: {
    name: 'codearts_flaky_builds_total',
    type: 'counter',
    help: `Successful builds of the commit whose build had just failed, within metrics.recovery.flaky_window (metrics.recovery). ${POLLED}`,
  },
  failingSince: {
    name: 'codearts_job_failing_since_timestamp_seconds',
    type: 'gauge',
    help: `Finish time of the first failed build of the current failing streak (Unix seconds); 0 while the job is not failing (metrics.recovery). ${POLLED}`,
  },
  consecutiveFailures: {
    name: 'codearts_job_consecutive_failures',
    type: 'gauge',
    help: `Failed builds since the last successful one (metrics.recovery). ${POLLED}`,
  },
  // An info metric: a gauge at 1 in the text format, type info in OpenMetrics. Shown only with codearts.console_url.
  consoleLink: {
    name: 'codearts_job_console_link_info',
    type: 'gauge',
    help: "Link to the job's builds in the CodeArts console: url_prefix, the build number, url_suffix (codearts.console_url); always 1.",
  },
} as const;

export type BuildFamilyKey = keyof typeof BUILD_FAMILIES;
export const BUILD_FAMILY_ORDER = Object.keys(BUILD_FAMILIES) as BuildFamilyKey[];

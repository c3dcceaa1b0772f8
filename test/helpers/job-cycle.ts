import { createStaticTokenAuth } from '../../src/codearts/auth/static-token.js';
import { CodeArtsClient } from '../../src/codearts/client.js';
import { emptyJobState, type JobState } from '../../src/domain/job.js';
import { freshGapMemory, type GapMemory } from '../../src/poller/gap-policy.js';
import { JobCycle } from '../../src/poller/job-cycle.js';
import { DEFAULT_TOKEN, type Simulator } from '../../src/simulator/index.js';

/** A client for the simulator on loopback: no retries, no rate limit, so each step's requests are exactly what it asked. */
export function simulatorClient(simulator: Simulator, retries = 0): CodeArtsClient {
  return new CodeArtsClient({
    endpoint: simulator.url,
    recordApi: 'v4',
    auth: createStaticTokenAuth(DEFAULT_TOKEN),
    requestTimeoutMs: 2000,
    maxConcurrency: 8,
    maxRequestsPerSecond: 100_000,
    retry: { retries, minDelayMs: 1, maxDelayMs: 1 },
    maxRetryTimeMs: 1000,
    notFoundCodes: [],
  });
}

/** One job's cycle as the poller starts it: from `state`, on the simulator's clock, with a forward budget. */
export function startCycle(
  client: CodeArtsClient,
  simulator: Simulator,
  jobId: string,
  state: Partial<JobState> = {},
  options: { budget?: number; memory?: Partial<GapMemory>; maxPendingAgeSeconds?: number } = {},
): JobCycle {
  const now = simulator.now();
  return new JobCycle(
    client,
    jobId,
    { ...emptyJobState(), ...state },
    { ...freshGapMemory(now), ...options.memory },
    {
      maxBuildsPerCycle: options.budget ?? 50,
      maxPendingAgeSeconds: options.maxPendingAgeSeconds ?? 48 * 3600,
      now,
    },
  );
}

/** record-info requests the simulator received since the last reset. */
export function recordRequests(simulator: Simulator): number {
  return simulator.requests().recordInfo;
}

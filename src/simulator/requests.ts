import type { Endpoint, RequestCounts, RequestLogEntry } from './types.js';

const WINDOW_MS = 1000;
/** Long benchmark runs must not grow memory without bound; counters keep counting past this. */
const MAX_LOG_ENTRIES = 1_000_000;

function isRecordInfo(endpoint: Endpoint): boolean {
  return endpoint === 'record-info-v4' || endpoint === 'record-info-v1';
}

/** Counts every request the simulator answered (or refused to answer), faulted ones included. */
export class RequestRecorder {
  private startMs: number;
  private log: RequestLogEntry[] = [];
  private perSecond: number[] = [];
  private byEndpoint: Record<string, number> = {};
  private byEndpointStatus: Record<string, Record<string, number>> = {};
  private recordInfo = 0;

  constructor(private readonly realNowMs: () => number) {
    this.startMs = realNowMs();
  }

  record(endpoint: Endpoint, status: number, jobId?: string, buildNo?: number): void {
    const t = this.realNowMs() - this.startMs;
    const entry: RequestLogEntry = { t, endpoint, status };
    if (jobId !== undefined) entry.jobId = jobId;
    if (buildNo !== undefined) entry.buildNo = buildNo;
    if (this.log.length < MAX_LOG_ENTRIES) this.log.push(entry);

    this.byEndpoint[endpoint] = (this.byEndpoint[endpoint] ?? 0) + 1;
    const statuses = (this.byEndpointStatus[endpoint] ??= {});
    statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
    if (isRecordInfo(endpoint)) {
      this.recordInfo++;
      const window = Math.floor(t / WINDOW_MS);
      while (this.perSecond.length <= window) this.perSecond.push(0);
      this.perSecond[window] = (this.perSecond[window] ?? 0) + 1;
    }
  }

  reset(): void {
    this.startMs = this.realNowMs();
    this.log = [];
    this.perSecond = [];
    this.byEndpoint = {};
    this.byEndpointStatus = {};
    this.recordInfo = 0;
  }

  snapshot(): RequestCounts {
    const currentWindow = Math.floor((this.realNowMs() - this.startMs) / WINDOW_MS);
    const perSecond = [...this.perSecond];
    while (perSecond.length <= currentWindow) perSecond.push(0);
    const byEndpointStatus: Record<string, Record<string, number>> = {};
    for (const [endpoint, statuses] of Object.entries(this.byEndpointStatus)) byEndpointStatus[endpoint] = { ...statuses };
    return {
      byEndpoint: { ...this.byEndpoint },
      byEndpointStatus,
      recordInfo: this.recordInfo,
      perSecond,
      log: this.log.map((entry) => ({ ...entry })),
    };
  }
}

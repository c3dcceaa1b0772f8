import type { Random } from './random.js';
import { respondError, respondJson, type SimResponse } from './responses.js';
import type { Endpoint, FaultKind, FaultOptions } from './types.js';

const FAULT_KINDS: readonly FaultKind[] = [
  '500',
  '429',
  'apig-0308',
  'cb-00060211',
  'cb-00060100',
  'timeout',
  'reset',
  'malformed',
  'truncated',
  'schema',
  'string-json',
  'slow-body',
  'endless-body',
  'blackhole',
  'redirect',
  '404-html',
  '404-empty',
  '404-json',
];

interface ActiveFault {
  kind: FaultKind;
  remaining: number;
  probability: number;
  endpoint?: Endpoint;
  jobId?: string;
  location?: string;
}

export interface TakenFault {
  kind: FaultKind;
  location?: string;
}

/** Injected faults, matched in injection order against each request before normal handling. */
export class FaultTable {
  private faults: ActiveFault[] = [];

  constructor(private readonly random: Random) {}

  inject(kind: FaultKind, options: FaultOptions = {}): void {
    if (!FAULT_KINDS.includes(kind)) throw new TypeError(`unknown fault kind '${kind}'`);
    const { count, probability } = options;
    if (count !== undefined && (!Number.isInteger(count) || count < 1)) {
      throw new RangeError(`fault count must be a positive integer, got ${count}`);
    }
    if (probability !== undefined && !(probability >= 0 && probability <= 1)) {
      throw new RangeError(`fault probability must be within [0, 1], got ${probability}`);
    }
    if (kind === 'redirect' && !options.location) throw new TypeError("the 'redirect' fault needs a location");
    const fault: ActiveFault = {
      kind,
      remaining: count ?? (probability === undefined ? 1 : Number.POSITIVE_INFINITY),
      probability: probability ?? 1,
    };
    if (options.endpoint !== undefined) fault.endpoint = options.endpoint;
    if (options.jobId !== undefined) fault.jobId = options.jobId;
    if (options.location !== undefined) fault.location = options.location;
    this.faults.push(fault);
  }

  clear(): void {
    this.faults = [];
  }

  /** The fault this request suffers, if any; consumes one use of it. */
  take(endpoint: Endpoint, jobId: string | undefined): TakenFault | undefined {
    for (const fault of this.faults) {
      if (fault.endpoint !== undefined && fault.endpoint !== endpoint) continue;
      if (fault.jobId !== undefined && fault.jobId !== jobId) continue;
      // Draw only for probabilistic faults, so count-only faults never disturb the random stream.
      if (fault.probability < 1 && !this.random.chance(fault.probability)) continue;
      fault.remaining--;
      if (fault.remaining <= 0) this.faults = this.faults.filter((other) => other !== fault);
      return fault.location === undefined ? { kind: fault.kind } : { kind: fault.kind, location: fault.location };
    }
    return undefined;
  }
}

/** The answer for a faulted request; `real` computes the normal answer when the fault needs it. */
export function renderFault({ kind, location }: TakenFault, real: () => SimResponse, requestPath = '/'): SimResponse {
  switch (kind) {
    case '500':
      return respondError(500, 'CB.00060101', 'Internal server error');
    case '429':
      return { ...respondThrottled('The throttling threshold has been reached'), headers: { 'Retry-After': '1' } };
    case 'apig-0308':
      return respondThrottled('The throttling threshold has been reached: policy user over ratelimit, limit:10, time:1 second');
    case 'cb-00060211':
      return respondError(500, 'CB.00060211', 'Too many requests, please try again later');
    case 'cb-00060100':
      return respondError(500, 'CB.00060100', 'The network is busy, please try again later');
    case 'timeout':
      return { status: 0, body: '', action: 'hold' };
    case 'reset':
      return { status: 0, body: '', action: 'reset' };
    case 'malformed':
      return { status: 200, body: '{"status":"success","result":{' };
    case 'truncated':
      return { status: 200, body: real().body, action: 'truncate' };
    case 'schema':
      return respondJson(200, { status: 'success', error: null, result: breakSchema(real().body) });
    case 'string-json':
      return respondJson(500, JSON.stringify({ error_code: 'CB.00060101', error_msg: 'x' }));
    case 'slow-body':
      return { status: 200, body: '', action: 'slow-body' };
    case 'endless-body':
      return { status: 200, body: '', action: 'endless-body' };
    case 'blackhole':
      return { status: 0, body: '', action: 'blackhole' };
    case 'redirect':
      return { status: 302, body: '', headers: { Location: `${(location ?? '').replace(/\/+$/, '')}${requestPath}` } };
    case '404-html':
      return {
        status: 404,
        body: '<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>',
        headers: { 'Content-Type': 'text/html' },
      };
    case '404-empty':
      return { status: 404, body: '' };
    case '404-json':
      return respondJson(404, { message: 'Not Found', path: requestPath.split('?')[0] });
  }
}

function respondThrottled(message: string): SimResponse {
  return respondError(429, 'APIG.0308', message);
}

/** The real result without `status` and with a non-numeric `build_no`; a build listing with a non-numeric `total_record`. */
function breakSchema(realBody: string): Record<string, unknown> {
  const parsed = JSON.parse(realBody) as { result?: unknown };
  const result = typeof parsed.result === 'object' && parsed.result !== null ? { ...(parsed.result as Record<string, unknown>) } : {};
  if ('job_build_states' in result) return { ...result, total_record: 'many' };
  delete result.status;
  result.build_no = 'abc';
  return result;
}

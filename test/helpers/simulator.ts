import { afterEach } from 'vitest';
import { createSimulator, DEFAULT_TOKEN, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';

export const AUTH = { 'X-Auth-Token': DEFAULT_TOKEN };

const started: Simulator[] = [];

/** Starts a simulator that is closed after the current test. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const simulator = await createSimulator(options);
  started.push(simulator);
  return simulator;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((simulator) => simulator.close()));
});

export interface JsonAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed body, undefined when it is not JSON. */
  body: any;
}

export async function getJson(simulator: Simulator, path: string, headers: Record<string, string> = AUTH): Promise<JsonAnswer> {
  const response = await fetch(`${simulator.url}${path}`, { headers });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

export function recordPath(jobId: string, buildNo: number | string, api: 'v4' | 'v1' = 'v4'): string {
  return api === 'v4' ? `/v4/jobs/${jobId}/${buildNo}/record-info` : `/v1/record/${jobId}/${buildNo}/record-info`;
}

/** A fixed 32-hex job id for readable tests. */
export function jobId(n: number): string {
  return n.toString(16).padStart(32, '0');
}

import { afterEach, describe, expect, it } from 'vitest';
import { signRequest } from '../../src/codearts/auth/aksk-signer.js';
import { createSimulator, DEFAULT_TOKEN, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';

const JOB = 'f1000000000000000000000000000001';
const USER = { domain: 'acme', user: 'exporter', password: 'pw-1', project: 'cn-north-4' };

const simulators: Simulator[] = [];
afterEach(async () => {
  await Promise.all(simulators.splice(0).map((s) => s.close()));
});

async function start(options: SimulatorOptions): Promise<Simulator> {
  const simulator = await createSimulator({ jobs: [{ id: JOB, name: 'a', history: 2 }], ...options });
  simulators.push(simulator);
  return simulator;
}

async function getRecord(
  simulator: Simulator,
  headers: Record<string, string>,
): Promise<{ status: number; body: { error_code?: string; error_msg?: string } }> {
  const response = await fetch(`${simulator.url}/v4/jobs/${JOB}/1/record-info`, { headers });
  return { status: response.status, body: (await response.json()) as { error_code?: string; error_msg?: string } };
}

async function issueToken(simulator: Simulator, password = USER.password): Promise<{ status: number; token: string | null }> {
  const body = {
    auth: {
      identity: { methods: ['password'], password: { user: { name: USER.user, password, domain: { name: USER.domain } } } },
      scope: { project: { name: USER.project } },
    },
  };
  const response = await fetch(`${simulator.url}/v3/auth/tokens`, { method: 'POST', body: JSON.stringify(body) });
  return { status: response.status, token: response.headers.get('x-subject-token') };
}

function signed(simulator: Simulator, secretKey: string, now = new Date()): Record<string, string> {
  const url = new URL(`${simulator.url}/v4/jobs/${JOB}/1/record-info`);
  const headers = { accept: 'application/json' };
  return { ...headers, ...signRequest({ method: 'GET', url, headers }, { accessKey: 'AK-TEST', secretKey }, now) };
}

describe('simulator auth modes', () => {
  it('token mode stays the default: the static token passes, anything else is 401 APIGW.0301', async () => {
    const simulator = await start({});
    expect((await getRecord(simulator, { 'x-auth-token': DEFAULT_TOKEN })).status).toBe(200);
    const refused = await getRecord(simulator, { 'x-auth-token': 'other' });
    expect(refused).toMatchObject({ status: 401, body: { error_code: 'APIGW.0301' } });
    expect(() => simulator.revokeTokens()).toThrow(/iam auth mode/);
  });

  it('iam mode: only issued, unexpired, unrevoked tokens pass; token requests are counted as iam-token', async () => {
    const simulator = await start({ auth: { mode: 'iam', tokenLifetimeSeconds: 60, users: [USER] } });
    expect((await getRecord(simulator, { 'x-auth-token': DEFAULT_TOKEN })).status).toBe(401);
    expect((await issueToken(simulator, 'wrong')).status).toBe(401);
    const { status, token } = await issueToken(simulator);
    expect(status).toBe(201);
    expect((await getRecord(simulator, { 'x-auth-token': token! })).status).toBe(200);

    simulator.setAuthClockOffset(61);
    const expired = await getRecord(simulator, { 'x-auth-token': token! });
    expect(expired).toMatchObject({ status: 401, body: { error_code: 'APIGW.0301' } });
    expect(expired.body.error_msg).toContain('must be updated');
    simulator.setAuthClockOffset(0);
    expect((await getRecord(simulator, { 'x-auth-token': token! })).status).toBe(200);

    expect(simulator.revokeTokens()).toBe(1);
    const revoked = await getRecord(simulator, { 'x-auth-token': token! });
    expect(revoked).toMatchObject({ status: 401, body: { error_code: 'APIGW.0301' } });
    expect(simulator.requests().byEndpointStatus['iam-token']).toEqual({ '201': 1, '401': 1 });
  });

  it('aksk mode: a valid signature passes; wrong secret, unsigned and 16-minute skew are refused with the gateway codes', async () => {
    const simulator = await start({ auth: { mode: 'aksk', keys: { 'AK-TEST': 'SK-TEST' } } });
    expect((await getRecord(simulator, signed(simulator, 'SK-TEST'))).status).toBe(200);
    expect(await getRecord(simulator, signed(simulator, 'SK-WRONG'))).toMatchObject({ status: 401, body: { error_code: 'APIGW.0301' } });
    expect(await getRecord(simulator, { 'x-auth-token': DEFAULT_TOKEN })).toMatchObject({
      status: 401,
      body: { error_code: 'APIGW.0301' },
    });

    simulator.setAuthClockOffset(16 * 60);
    expect(await getRecord(simulator, signed(simulator, 'SK-TEST'))).toMatchObject({ status: 401, body: { error_code: 'APIGW.0303' } });
    simulator.setAuthClockOffset(14 * 60);
    expect((await getRecord(simulator, signed(simulator, 'SK-TEST'))).status).toBe(200);
  });

  it('rejects meaningless auth options', async () => {
    await expect(createSimulator({ auth: { mode: 'iam', tokenLifetimeSeconds: 0, users: [USER] } })).rejects.toThrow(
      /tokenLifetimeSeconds/,
    );
    await expect(createSimulator({ auth: { mode: 'iam', tokenLifetimeSeconds: 5, users: [] } })).rejects.toThrow(/users/);
    await expect(createSimulator({ auth: { mode: 'aksk', keys: {} } })).rejects.toThrow(/keys/);
  });
});

import { describe, expect, it } from 'vitest';
import { answerIamToken, createIamIssuer, projectIdFor } from '../../src/simulator/iam.js';

function body(overrides: { user?: string; password?: string; domain?: string; project?: { name?: string; id?: string } } = {}): string {
  return JSON.stringify({
    auth: {
      identity: {
        methods: ['password'],
        password: {
          user: { name: overrides.user ?? 'alice', password: overrides.password ?? 'pw-1', domain: { name: overrides.domain ?? 'acme' } },
        },
      },
      scope: { project: overrides.project ?? { name: 'cn-north-4' } },
    },
  });
}

describe('simulator IAM issuer', () => {
  let clock = 1_700_000_000;
  const issuer = createIamIssuer({
    tokenLifetimeSeconds: 3,
    users: [{ domain: 'acme', user: 'alice', password: 'pw-1', project: 'cn-north-4' }],
    now: () => clock,
  });

  it('issues a token in X-Subject-Token with IAM-style expires_at, valid until it expires', () => {
    const answer = issuer.handleTokenRequest(body());
    expect(answer.status).toBe(201);
    const token = answer.headers['X-Subject-Token']!;
    expect(token).toMatch(/^MII/);
    const parsed = JSON.parse(answer.body) as { token: { expires_at: string; issued_at: string; project: { id: string } } };
    expect(parsed.token.expires_at).toBe('2023-11-14T22:13:23.000000Z');
    expect(parsed.token.issued_at).toBe('2023-11-14T22:13:20.000000Z');
    expect(parsed.token.project.id).toBe(projectIdFor('cn-north-4'));
    expect(issuer.checkToken(token)).toBe('valid');
    clock += 3;
    expect(issuer.checkToken(token)).toBe('expired');
    expect(issuer.checkToken('MIIunknown')).toBe('unknown');
    expect(issuer.issuedCount()).toBe(1);
  });

  it('accepts the project by id, revokes early', () => {
    const answer = issuer.handleTokenRequest(body({ project: { id: projectIdFor('cn-north-4') } }));
    expect(answer.status).toBe(201);
    const token = answer.headers['X-Subject-Token']!;
    issuer.revoke(token);
    expect(issuer.checkToken(token)).toBe('unknown');
  });

  it.each([
    ['wrong password', body({ password: 'nope' }), 401, 'IAM.0007'],
    ['unknown user', body({ user: 'bob' }), 401, 'IAM.0007'],
    ['other domain', body({ domain: 'other' }), 401, 'IAM.0007'],
    ['project not allowed', body({ project: { name: 'eu-west-101' } }), 400, 'IAM.0029'],
    ['not JSON', '{', 400, 'IAM.0011'],
    ['no scope', JSON.stringify({ auth: { identity: { methods: ['password'] } } }), 400, 'IAM.0011'],
  ])('%s -> %i %s', (_label, text, status, code) => {
    const before = issuer.issuedCount();
    const answer = issuer.handleTokenRequest(text);
    expect(answer.status).toBe(status);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code } });
    expect(answer.headers['X-Subject-Token']).toBeUndefined();
    expect(issuer.issuedCount()).toBe(before);
  });

  it('answerIamToken (server.ts compatibility) hands out the static token for a well-formed request', () => {
    const answer = answerIamToken(body(), 'static-token', Date.UTC(2024, 0, 1));
    expect(answer.status).toBe(201);
    expect(answer.headers['X-Subject-Token']).toBe('static-token');
    expect(JSON.parse(answer.body).token.expires_at).toBe('2024-01-02T00:00:00.000000Z');
    expect(answerIamToken('{', 'static-token', 0).status).toBe(400);
  });
});

import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { RotationError, type RotationEvent, rotate } from '../../lambda/shared/token-rotation';

/** Secrets Manager versions and stages, and a Cloudflare that rolls tokens. */
function world() {
  const versions = new Map<string, { value: string; stages: string[] }>([
    ['v1', { value: JSON.stringify({ tokenId: 'tok', token: 'old' }), stages: ['AWSCURRENT'] }],
  ]);
  const sm = mockClient(SecretsManagerClient);
  sm.on(DescribeSecretCommand).callsFake(() => ({
    RotationEnabled: true,
    VersionIdsToStages: Object.fromEntries([...versions].map(([id, v]) => [id, v.stages])),
  }));
  sm.on(GetSecretValueCommand).callsFake((input) => {
    const hit = [...versions].find(
      ([id, v]) =>
        (!input.VersionId || id === input.VersionId) &&
        v.stages.includes(input.VersionStage ?? 'AWSCURRENT'),
    );
    if (!hit) throw new ResourceNotFoundException({ message: 'no such version', $metadata: {} });
    return { SecretString: hit[1].value, VersionId: hit[0] };
  });
  sm.on(PutSecretValueCommand).callsFake((input) => {
    versions.set(input.ClientRequestToken, {
      value: input.SecretString,
      stages: input.VersionStages,
    });
    return {};
  });
  sm.on(UpdateSecretVersionStageCommand).callsFake((input) => {
    for (const [id, v] of versions) {
      if (id === input.RemoveFromVersionId)
        v.stages = v.stages.filter((s) => s !== input.VersionStage);
      if (id === input.MoveToVersionId)
        v.stages = [...v.stages.filter((s) => s !== 'AWSPENDING'), input.VersionStage];
    }
    return {};
  });
  const cf = { valid: new Set(['old']), rolls: 0, active: true };
  const fetchFake = (async (url: string, init?: RequestInit) => {
    const token = String(
      (init?.headers as Record<string, string> | undefined)?.authorization,
    ).replace('Bearer ', '');
    const ok = (result: unknown) =>
      new Response(JSON.stringify({ success: true, result }), { status: 200 });
    if (!cf.valid.has(token))
      return new Response(
        JSON.stringify({ success: false, errors: [{ message: 'Invalid API Token' }] }),
        { status: 401 },
      );
    if (url.endsWith('/tokens/tok/value') && init?.method === 'PUT') {
      cf.valid.clear();
      cf.rolls += 1;
      const fresh = `new-${cf.rolls}`;
      cf.valid.add(fresh);
      return ok(fresh);
    }
    if (url.endsWith('/tokens/verify')) return ok({ status: cf.active ? 'active' : 'disabled' });
    return new Response('{}', { status: 404 });
  }) as typeof fetch;
  const deps = {
    secrets: new SecretsManagerClient({ region: 'eu-west-1' }),
    fetch: fetchFake,
    accountId: 'acc',
  };
  return { versions, sm, cf, deps };
}

const step = (Step: RotationEvent['Step']): RotationEvent => ({
  SecretId: 'cf-token',
  ClientRequestToken: 'v2',
  Step,
});

describe('Cloudflare token rotation (Secrets Manager protocol)', () => {
  test('the four steps roll the token at Cloudflare and make the new value current', async () => {
    const w = world();
    try {
      // Secrets Manager creates the version id before it calls createSecret.
      w.versions.set('v2', { value: '{}', stages: [] });
      for (const s of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const)
        await rotate(w.deps, step(s));
      expect(w.versions.get('v2')?.stages).toEqual(['AWSCURRENT']);
      expect(JSON.parse(w.versions.get('v2')?.value ?? '')).toEqual({
        tokenId: 'tok',
        token: 'new-1',
      });
      expect(w.versions.get('v1')?.stages).toEqual([]);
      expect([...w.cf.valid]).toEqual(['new-1']);
    } finally {
      w.sm.restore();
    }
  });

  test('a retried createSecret does not roll twice', async () => {
    const w = world();
    try {
      w.versions.set('v2', { value: '{}', stages: [] });
      await rotate(w.deps, step('createSecret'));
      await rotate(w.deps, step('createSecret'));
      expect(w.cf.rolls).toBe(1);
    } finally {
      w.sm.restore();
    }
  });

  test('a new token Cloudflare does not report active stops the rotation before it becomes current', async () => {
    const w = world();
    try {
      w.versions.set('v2', { value: '{}', stages: [] });
      await rotate(w.deps, step('createSecret'));
      w.cf.active = false;
      await expect(rotate(w.deps, step('testSecret'))).rejects.toThrow(
        new RotationError('the new token is disabled'),
      );
      expect(w.versions.get('v1')?.stages).toEqual(['AWSCURRENT']);
    } finally {
      w.sm.restore();
    }
  });
});

/**
 * Secrets Manager rotation of a Cloudflare account API token (secret value
 * `{"tokenId": "...", "token": "..."}`), following the four-step rotation protocol. Cloudflare
 * "rolls" a token: the new value replaces the old at once, so createSecret rolls and stores the
 * new value as AWSPENDING, testSecret verifies it, finishSecret makes it AWSCURRENT. Runbook steps
 * that call Cloudflare between those two steps retry (the SDK and the state machine's Retry).
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { cloudflareApi } from './cloudflare-api';

export interface RotationEvent {
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  readonly Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';
}

interface TokenSecret {
  readonly tokenId: string;
  readonly token: string;
}

export class RotationError extends Error {
  override readonly name = 'RotationError';
}

export interface RotationDeps {
  readonly secrets: SecretsManagerClient;
  readonly fetch: typeof fetch;
  readonly accountId: string;
}

async function read(
  d: RotationDeps,
  id: string,
  stage: string,
  versionId?: string,
): Promise<TokenSecret> {
  const out = await d.secrets.send(
    new GetSecretValueCommand({
      SecretId: id,
      VersionStage: stage,
      ...(versionId ? { VersionId: versionId } : {}),
    }),
  );
  const v = JSON.parse(out.SecretString ?? '{}') as Partial<TokenSecret>;
  if (!v.tokenId || !v.token)
    throw new RotationError(
      `${id} (${stage}): expected {"tokenId", "token"}, got keys ${Object.keys(v).join(', ') || 'none'}`,
    );
  return v as TokenSecret;
}

const cloudflare = (d: RotationDeps, path: string, token: string, method = 'GET') =>
  cloudflareApi(d.fetch, d.accountId, token, path, {
    method,
    ...(method === 'PUT' ? { body: '{}' } : {}),
  });

export async function rotate(d: RotationDeps, e: RotationEvent): Promise<void> {
  const meta = await d.secrets.send(new DescribeSecretCommand({ SecretId: e.SecretId }));
  if (!meta.RotationEnabled) throw new RotationError(`${e.SecretId}: rotation is not enabled`);
  const stages = meta.VersionIdsToStages?.[e.ClientRequestToken];
  if (!stages)
    throw new RotationError(
      `${e.SecretId}: version ${e.ClientRequestToken} is not a version of it`,
    );
  if (stages.includes('AWSCURRENT') && e.Step !== 'finishSecret') return; // already done
  switch (e.Step) {
    case 'createSecret': {
      try {
        await read(d, e.SecretId, 'AWSPENDING', e.ClientRequestToken);
        return; // a retried createSecret: the pending value exists
      } catch (err) {
        if (!(err instanceof ResourceNotFoundException)) throw err;
      }
      const current = await read(d, e.SecretId, 'AWSCURRENT');
      const rolled = await cloudflare(d, `/tokens/${current.tokenId}/value`, current.token, 'PUT');
      if (typeof rolled !== 'string' || rolled.length === 0)
        throw new RotationError('Cloudflare returned no token value');
      await d.secrets.send(
        new PutSecretValueCommand({
          SecretId: e.SecretId,
          ClientRequestToken: e.ClientRequestToken,
          SecretString: JSON.stringify({ tokenId: current.tokenId, token: rolled }),
          VersionStages: ['AWSPENDING'],
        }),
      );
      return;
    }
    case 'setSecret':
      return; // Cloudflare already holds the new value (rolled in createSecret)
    case 'testSecret': {
      const pending = await read(d, e.SecretId, 'AWSPENDING', e.ClientRequestToken);
      const status = (await cloudflare(d, '/tokens/verify', pending.token)) as { status?: string };
      if (status.status !== 'active')
        throw new RotationError(`the new token is ${status.status ?? 'not active'}`);
      return;
    }
    case 'finishSecret': {
      const current = Object.entries(meta.VersionIdsToStages ?? {}).find(([, s]) =>
        s.includes('AWSCURRENT'),
      )?.[0];
      if (current === e.ClientRequestToken) return;
      await d.secrets.send(
        new UpdateSecretVersionStageCommand({
          SecretId: e.SecretId,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: e.ClientRequestToken,
          ...(current ? { RemoveFromVersionId: current } : {}),
        }),
      );
      return;
    }
  }
}

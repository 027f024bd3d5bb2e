/** Secrets and where they live: each Secrets Manager secret, its key, replicas and rotation. */
import type { StackArtifact } from '../assembly';
import type { Section } from '../section';
import { byType, type KeyFact, keyOf, props, refTarget, resourcesOf } from '../template';
import { keyText } from './encryption';

export interface SecretFact {
  readonly region: string;
  /** The secret's name, or its logical id when it has none. */
  readonly secret: string;
  readonly key: KeyFact;
  readonly replicas: readonly string[];
  /** Absent: nothing rotates the secret. */
  readonly rotation?: { readonly afterDays?: number; readonly schedule?: string };
}

/**
 * The secret a rotation schedule rotates. A schedule may name the secret itself or its target
 * attachment (`AWS::SecretsManager::SecretTargetAttachment`, whose Ref is the secret's ARN): that
 * is how a database's credentials are rotated (`DatabaseCluster.addRotationSingleUser`).
 */
function rotatedSecret(s: StackArtifact, secretId: unknown): string | undefined {
  const id = refTarget(secretId);
  const target = id ? resourcesOf(s.template)[id] : undefined;
  return target?.Type === 'AWS::SecretsManager::SecretTargetAttachment'
    ? refTarget(props(target).SecretId)
    : id;
}

export function secretsOf(s: StackArtifact): SecretFact[] {
  const t = s.template;
  const rotations = byType(t, 'AWS::SecretsManager::RotationSchedule').map(([, r]) => ({
    secret: rotatedSecret(s, props(r).SecretId),
    rules: props(r).RotationRules as
      | { AutomaticallyAfterDays?: number; ScheduleExpression?: string }
      | undefined,
  }));
  return byType(t, 'AWS::SecretsManager::Secret').map(([id, r]) => {
    const p = props(r);
    const rules = rotations.find((x) => x.secret === id)?.rules;
    const rotation = rules?.AutomaticallyAfterDays
      ? { afterDays: rules.AutomaticallyAfterDays }
      : rules?.ScheduleExpression
        ? { schedule: rules.ScheduleExpression }
        : undefined;
    return {
      region: s.region,
      secret: String(p.Name ?? id),
      key: keyOf(t, p.KmsKeyId),
      replicas: ((p.ReplicaRegions as { Region?: string }[] | undefined) ?? [])
        .map((x) => String(x.Region))
        .sort(),
      ...(rotation ? { rotation } : {}),
    };
  });
}

// Wording.

export function secretsSection(secrets: readonly SecretFact[]): Section {
  return {
    id: 'secrets',
    title: 'Secrets and where they live',
    intro: 'Every Secrets Manager secret, its key, its replicas and its rotation.',
    table: {
      columns: ['Region', 'Secret', 'Key', 'Replicas', 'Rotation'],
      rows: secrets.map((s) => [
        s.region,
        s.secret,
        keyText(s.key),
        s.replicas.length ? s.replicas.join(', ') : 'none (this region only)',
        s.rotation?.afterDays
          ? `every ${s.rotation.afterDays} days`
          : s.rotation?.schedule
            ? `on ${s.rotation.schedule}`
            : 'not rotated',
      ]),
    },
  };
}

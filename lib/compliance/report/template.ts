/**
 * Reading facts out of one CloudFormation template: resources by type, references, tags, the key a
 * store names and whether it rotates, and whether a resource policy refuses plain HTTP. Facts
 * only: how they are worded is each section's renderer's business.
 */
import type { CfnResource, CfnTemplate } from './assembly';

type Resources = Record<string, CfnResource>;
export const resourcesOf = (t: CfnTemplate): Resources => t.Resources ?? {};

/** `[logicalId, resource]` of one type, sorted by logical id. */
export const byType = (t: CfnTemplate, type: string): [string, CfnResource][] =>
  Object.entries(resourcesOf(t))
    .filter(([, r]) => r.Type === type)
    .sort(([a], [b]) => a.localeCompare(b));

export const props = (r: CfnResource): Record<string, unknown> => r.Properties ?? {};

/** The logical id a `Ref` / `Fn::GetAtt` points at, if the value is one. */
export function refTarget(v: unknown): string | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.Ref === 'string') return o.Ref;
  const att = o['Fn::GetAtt'];
  if (Array.isArray(att)) return String(att[0]);
  if (typeof att === 'string') return att.split('.')[0];
  return undefined;
}

export function tag(r: CfnResource, key: string): string | undefined {
  const tags = props(r).Tags;
  if (Array.isArray(tags))
    return (tags as { Key: string; Value: string }[]).find((t) => t.Key === key)?.Value;
  if (tags && typeof tags === 'object') return (tags as Record<string, string>)[key];
  return undefined;
}

/** Who rotates a key: the customer key's own schedule, AWS, nobody, or not known from here. */
export type Rotation =
  | { readonly by: 'customer'; readonly rotates: boolean; readonly days?: number }
  | { readonly by: 'aws' }
  | { readonly by: 'unknown' };

/**
 * The key that encrypts a store. `customer`: a KMS key in the template (named by its alias);
 * `aws-owned` / `aws-managed` / `sse-s3`: keys the customer neither holds nor rotates; `named`: a
 * key id or ARN the template does not define.
 */
export interface KeyFact {
  readonly kind: 'customer' | 'aws-owned' | 'aws-managed' | 'sse-s3' | 'named';
  /** The alias (or logical id) of a customer key; the id of a named key. */
  readonly name?: string;
  readonly rotation: Rotation;
}

/** The key a `KmsKeyId`-like value names: none means the service's AWS owned key. */
export function keyOf(t: CfnTemplate, v: unknown): KeyFact {
  if (v === undefined || v === null) return { kind: 'aws-owned', rotation: { by: 'aws' } };
  const id = refTarget(v);
  const r = id ? resourcesOf(t)[id] : undefined;
  if (id && r?.Type === 'AWS::KMS::Key') {
    const alias = byType(t, 'AWS::KMS::Alias').find(
      ([, a]) => refTarget(props(a).TargetKeyId) === id,
    );
    const days = props(r).RotationPeriodInDays;
    return {
      kind: 'customer',
      name: alias ? String(props(alias[1]).AliasName) : id,
      rotation: {
        by: 'customer',
        rotates: props(r).EnableKeyRotation === true,
        ...(typeof days === 'number' ? { days } : {}),
      },
    };
  }
  return {
    kind: 'named',
    name: typeof v === 'string' ? v : JSON.stringify(v),
    rotation: { by: 'unknown' },
  };
}

/** Whether a policy document denies requests without TLS. */
function deniesPlainText(doc: unknown): boolean {
  const statements = ((doc as { Statement?: unknown[] } | undefined)?.Statement ?? []) as {
    Effect?: string;
    Condition?: { Bool?: Record<string, unknown> };
  }[];
  return statements.some(
    (s) => s.Effect === 'Deny' && String(s.Condition?.Bool?.['aws:SecureTransport']) === 'false',
  );
}

/** Whether a resource policy of `policyType` attached (by `field`) to `id` refuses plain HTTP. */
export function policyRequiresTls(
  t: CfnTemplate,
  policyType: string,
  field: string,
  id: string,
): boolean {
  return byType(t, policyType)
    .filter(([, p]) => {
      const target = props(p)[field];
      const list = Array.isArray(target) ? target : [target];
      return list.some((x) => refTarget(x) === id);
    })
    .some(([, p]) => deniesPlainText(props(p).PolicyDocument));
}

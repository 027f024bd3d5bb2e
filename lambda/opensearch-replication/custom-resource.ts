/**
 * The CloudFormation custom-resource protocol around ./replication.ts: parse and check the
 * properties, run Create/Update/Delete, and answer CloudFormation on the pre-signed ResponseURL.
 * A failure is always answered (FAILED with the reason), so a stack never hangs for an hour.
 */
import {
  type AutoFollowRule,
  ensureReplication,
  type ReplicationDeps,
  type ReplicationSpec,
  removeReplication,
} from './replication';

export interface CustomResourceEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: Record<string, unknown>;
  readonly OldResourceProperties?: Record<string, unknown>;
}

export type Respond = (url: string, body: string) => Promise<void>;

export class InvalidPropertiesError extends Error {
  override readonly name = 'InvalidPropertiesError';
}

/** Reads the custom resource's properties; lists every fault in one error. */
export function parseSpec(props: Record<string, unknown>): ReplicationSpec {
  const faults: string[] = [];
  const str = (path: string, v: unknown): string => {
    if (typeof v !== 'string' || v === '') faults.push(`${path}: expected a non-empty string`);
    return String(v ?? '');
  };
  const domain = (name: string) => {
    const d = (props[name] ?? {}) as Record<string, unknown>;
    return {
      domainName: str(`${name}.domainName`, d.domainName),
      region: str(`${name}.region`, d.region),
      account: str(`${name}.account`, d.account),
    };
  };
  if (!Array.isArray(props.rules)) faults.push('rules: expected a list');
  const rules: unknown[] = Array.isArray(props.rules) ? props.rules : [];
  const spec: ReplicationSpec = {
    leader: domain('leader'),
    follower: domain('follower'),
    followerEndpoint: str('followerEndpoint', props.followerEndpoint),
    connectionAlias: str('connectionAlias', props.connectionAlias),
    rules: rules.map((item, i): AutoFollowRule => {
      const r = (item ?? {}) as Record<string, unknown>;
      return {
        name: str(`rules[${i}].name`, r.name),
        pattern: str(`rules[${i}].pattern`, r.pattern),
      };
    }),
  };
  if (faults.length > 0) throw new InvalidPropertiesError(faults.join('; '));
  return spec;
}

export async function handleEvent(
  event: CustomResourceEvent,
  deps: ReplicationDeps,
  respond: Respond,
): Promise<void> {
  const physicalId = (spec?: ReplicationSpec) =>
    event.PhysicalResourceId ??
    (spec
      ? `ccr:${spec.leader.region}/${spec.leader.domainName}->${spec.follower.region}/${spec.follower.domainName}`
      : event.LogicalResourceId);
  let status: 'SUCCESS' | 'FAILED' = 'SUCCESS';
  let reason = '';
  let data: Record<string, string> = {};
  let spec: ReplicationSpec | undefined;
  try {
    spec = parseSpec(event.ResourceProperties);
    if (event.RequestType === 'Delete') {
      await removeReplication(spec, deps);
    } else {
      const previous =
        event.RequestType === 'Update' && event.OldResourceProperties
          ? safeRules(event.OldResourceProperties)
          : [];
      data = await ensureReplication(spec, deps, previous);
    }
  } catch (err) {
    // A Delete of properties that never parsed has nothing to remove.
    if (!(event.RequestType === 'Delete' && err instanceof InvalidPropertiesError)) {
      status = 'FAILED';
      reason = `${(err as Error).name}: ${(err as Error).message}`.slice(0, 3500);
    }
  }
  await respond(
    event.ResponseURL,
    JSON.stringify({
      Status: status,
      Reason: reason || 'OK',
      PhysicalResourceId: physicalId(spec),
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
      Data: data,
    }),
  );
}

function safeRules(props: Record<string, unknown>): AutoFollowRule[] {
  try {
    return [...parseSpec(props).rules];
  } catch {
    return [];
  }
}

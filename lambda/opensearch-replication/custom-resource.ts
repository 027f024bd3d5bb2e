/**
 * The custom resource's two entry points for aws-cdk-lib's `custom_resources.Provider`: `onEvent`
 * starts Create/Update/Delete and returns; `isComplete` reports when it is done. The framework
 * answers CloudFormation, retries isComplete every query interval and fails the resource at its
 * total timeout. Both functions only parse properties and call ./replication.ts.
 */
import {
  type AutoFollowRule,
  continueReplication,
  type ReplicationDeps,
  type ReplicationSpec,
  removeReplication,
  replicationRemoved,
  startReplication,
} from './replication';

/** What the framework passes to onEvent (AWSCDKAsyncCustomResource.OnEventRequest, narrowed). */
export interface OnEventRequest {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: Record<string, unknown>;
  readonly OldResourceProperties?: Record<string, unknown>;
}

export interface OnEventResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Readonly<Record<string, string>>;
}

/** The onEvent request merged with its response, as the framework passes it to isComplete. */
export type IsCompleteRequest = OnEventRequest & Partial<OnEventResponse>;

export interface IsCompleteResponse {
  readonly IsComplete: boolean;
  readonly Data?: Readonly<Record<string, string>>;
}

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

/**
 * onEvent: starts the work and returns. Create/Update create (or reuse) the connection and accept
 * it; Delete removes the rules and the connection. The physical id names both domains, so a
 * change of leader or follower gets a new id and CloudFormation deletes the old connection.
 */
export async function onEvent(
  event: OnEventRequest,
  deps: ReplicationDeps,
): Promise<OnEventResponse> {
  if (event.RequestType === 'Delete') {
    const spec = tryParseSpec(event.ResourceProperties);
    // Properties that never parsed never made a connection: nothing to remove.
    if (spec) await removeReplication(spec, deps);
    return { PhysicalResourceId: event.PhysicalResourceId ?? event.LogicalResourceId };
  }
  const spec = parseSpec(event.ResourceProperties);
  const { connectionId } = await startReplication(spec, deps);
  return { PhysicalResourceId: physicalId(spec), Data: { connectionId } };
}

/**
 * isComplete: called right after onEvent and then every query interval until it answers true or
 * the provider's total timeout passes. Create/Update are complete once the connection is ACTIVE
 * and the auto-follow rules are in place; Delete once no live connection is left.
 */
export async function isComplete(
  event: IsCompleteRequest,
  deps: ReplicationDeps,
): Promise<IsCompleteResponse> {
  if (event.RequestType === 'Delete') {
    const spec = tryParseSpec(event.ResourceProperties);
    return { IsComplete: spec ? await replicationRemoved(spec, deps) : true };
  }
  const spec = parseSpec(event.ResourceProperties);
  const previous =
    event.RequestType === 'Update' ? (tryParseSpec(event.OldResourceProperties)?.rules ?? []) : [];
  const progress = await continueReplication(spec, deps, previous);
  // The framework refuses Data on an incomplete answer.
  return progress.state === 'active'
    ? { IsComplete: true, Data: { connectionId: progress.connectionId } }
    : { IsComplete: false };
}

/** `ccr:<leader region>/<leader domain>-><follower region>/<follower domain>` */
export function physicalId(spec: ReplicationSpec): string {
  return `ccr:${spec.leader.region}/${spec.leader.domainName}->${spec.follower.region}/${spec.follower.domainName}`;
}

function tryParseSpec(props: Record<string, unknown> | undefined): ReplicationSpec | undefined {
  try {
    return props ? parseSpec(props) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * (Drill and test support: not deployed.)
 * A stateful DynamoDB for the lock, through aws-sdk-client-mock: items in memory, and the
 * condition and update expressions Meridian's lock uses evaluated for real (a small evaluator for
 * `attribute_not_exists`, `=`, `<`, `>=`, `AND`, `OR`, `SET a = v, ...` and `ADD a n`).
 *
 * With a topology it models where the table lives, as lib/failover/lock-plan.ts plans it: a
 * request reaches the endpoint of the client's region only if the caller's region can reach it;
 * an MRSC table answers only when that endpoint reaches a majority of the table's three members
 * (replicas and witness), and a single-home table only in its home. Without a topology it is one
 * consistent store that every caller reaches (unit tests of the lock's expressions).
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

type Attr = { S?: string; N?: string };
type Item = Record<string, Attr>;

export interface LockTopology {
  /** Members of the MRSC table (replicas and witness), or the single home. */
  readonly members: readonly string[];
  readonly consistency: 'strong' | 'single-home';
  /** Whether a request from `from` reaches `to` (regions down, partitions). */
  reachable(from: string, to: string): boolean;
  /** The region the calling code runs in. */
  caller(): string;
}

/** What the SDK raises when an endpoint does not answer (the request times out). */
export const unreachable = (what: string) =>
  Object.assign(new Error(`${what}: connect ETIMEDOUT (modelled: region down or partitioned)`), {
    name: 'TimeoutError',
  });

export class FakeDynamoDb {
  readonly tables = new Map<string, Map<string, Item>>();
  private readonly stub = mockClient(DynamoDBClient);

  constructor(private readonly topology?: LockTopology) {
    this.stub.on(GetItemCommand).callsFake(async (input, getClient) => {
      await this.admit(await getClient().config.region());
      const item = this.table(input.TableName).get(JSON.stringify(input.Key));
      return { Item: item ? structuredClone(item) : undefined };
    });
    this.stub.on(UpdateItemCommand).callsFake(async (input, getClient) => {
      await this.admit(await getClient().config.region());
      return { Attributes: this.update(input) };
    });
  }

  /**
   * An UpdateItem as the table applies it, once the request has reached a consistent endpoint:
   * the condition evaluated, then the update; returns the item after it (ALL_NEW). The drill's
   * world calls it for code it runs between steps (the writer's keeper), after {@link serves}.
   */
  update(input: UpdateItemCommandInput): Item {
    const table = this.table(input.TableName);
    const id = JSON.stringify(input.Key);
    const current = table.get(id);
    const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
    const values = (input.ExpressionAttributeValues ?? {}) as Record<string, Attr>;
    if (input.ConditionExpression && !evaluate(input.ConditionExpression, current, names, values))
      throw new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
      });
    const next: Item = { ...structuredClone(input.Key as Item), ...(current ?? {}) };
    apply(input.UpdateExpression ?? '', next, names, values);
    table.set(id, next);
    return structuredClone(next);
  }

  /**
   * Whether code in `caller` gets a strongly consistent answer from the endpoint in `endpoint`
   * (what a region's applications and sync functions rely on to read their region state).
   */
  serves(caller: string, endpoint: string): boolean {
    const t = this.topology;
    if (!t) return true;
    try {
      this.check(caller, endpoint);
      return true;
    } catch {
      return false;
    }
  }

  /** Throws as AWS would when the caller cannot get a consistent answer from `endpoint`. */
  private async admit(endpoint: string): Promise<void> {
    const t = this.topology;
    if (t) this.check(t.caller(), endpoint);
  }

  private check(caller: string, endpoint: string): void {
    const t = this.topology;
    if (!t) return;
    if (!t.reachable(caller, endpoint)) throw unreachable(`dynamodb.${endpoint}`);
    if (t.consistency === 'single-home') {
      if (!t.members.includes(endpoint))
        throw Object.assign(new Error(`Requested resource not found in ${endpoint}`), {
          name: 'ResourceNotFoundException',
        });
      return;
    }
    const reached = t.members.filter((m) => m === endpoint || t.reachable(endpoint, m)).length;
    if (!t.members.includes(endpoint) || reached * 2 <= t.members.length)
      throw Object.assign(
        new Error(`${endpoint}: the MRSC table cannot reach a majority of its Regions`),
        { name: 'InternalServerError' },
      );
  }

  table(name = ''): Map<string, Item> {
    let t = this.tables.get(name);
    if (!t) {
      t = new Map();
      this.tables.set(name, t);
    }
    return t;
  }

  restore(): void {
    this.stub.restore();
  }
}

const scalar = (a: Attr | undefined) => (a?.N !== undefined ? Number(a.N) : a?.S);

function operand(
  tok: string,
  item: Item | undefined,
  names: Record<string, string>,
  values: Record<string, Attr>,
) {
  if (tok.startsWith(':')) return scalar(values[tok]);
  const name = names[tok] ?? tok;
  return scalar(item?.[name]);
}

function evaluate(
  expr: string,
  item: Item | undefined,
  names: Record<string, string>,
  values: Record<string, Attr>,
): boolean {
  return expr.split(/\s+OR\s+/).some((disjunct) =>
    disjunct.split(/\s+AND\s+/).every((c) => {
      const t = c.trim();
      const ne = /^attribute_not_exists\((\S+)\)$/.exec(t);
      if (ne) return item?.[names[ne[1] as string] ?? (ne[1] as string)] === undefined;
      const m = /^(\S+)\s*(<=|>=|<>|=|<|>)\s*(\S+)$/.exec(t);
      if (!m) throw new Error(`fake DynamoDB: unsupported condition ${t}`);
      const [a, b] = [
        operand(m[1] as string, item, names, values),
        operand(m[3] as string, item, names, values),
      ];
      if (a === undefined || b === undefined) return false;
      const compare: Record<string, boolean> = {
        '=': a === b,
        '<>': a !== b,
        '<': a < b,
        '<=': a <= b,
        '>': a > b,
        '>=': a >= b,
      };
      return compare[m[2] as string] as boolean;
    }),
  );
}

function apply(
  expr: string,
  item: Item,
  names: Record<string, string>,
  values: Record<string, Attr>,
): void {
  const [setPart, addPart] = expr.split(/\s+ADD\s+/);
  for (const assignment of (setPart ?? '').replace(/^SET\s+/, '').split(',')) {
    const [lhs, rhs] = assignment.split('=').map((x) => x.trim());
    if (!lhs || !rhs) continue;
    item[names[lhs] ?? lhs] = structuredClone(values[rhs] as Attr);
  }
  if (addPart) {
    const [lhs, rhs] = addPart.trim().split(/\s+/);
    const name = names[lhs as string] ?? (lhs as string);
    item[name] = { N: String(Number(item[name]?.N ?? 0) + Number(values[rhs as string]?.N)) };
  }
}

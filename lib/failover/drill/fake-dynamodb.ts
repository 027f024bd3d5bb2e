/**
 * (Drill and test support: not deployed.)
 * A stateful DynamoDB for the lock, through aws-sdk-client-mock: items in memory, and the
 * condition and update expressions Meridian's lock uses evaluated for real (a small evaluator for
 * `attribute_not_exists`, `=`, `<`, `>=`, `AND`, `OR`, `SET a = v, ...` and `ADD a n`).
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

type Attr = { S?: string; N?: string };
type Item = Record<string, Attr>;

export class FakeDynamoDb {
  readonly tables = new Map<string, Map<string, Item>>();
  private readonly stub = mockClient(DynamoDBClient);

  constructor() {
    this.stub.on(GetItemCommand).callsFake((input) => {
      const item = this.table(input.TableName).get(JSON.stringify(input.Key));
      return { Item: item ? structuredClone(item) : undefined };
    });
    this.stub.on(UpdateItemCommand).callsFake((input) => {
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
      return { Attributes: structuredClone(next) };
    });
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
      const m = /^(\S+)\s*(=|<|>=)\s*(\S+)$/.exec(t);
      if (!m) throw new Error(`fake DynamoDB: unsupported condition ${t}`);
      const [a, b] = [
        operand(m[1] as string, item, names, values),
        operand(m[3] as string, item, names, values),
      ];
      if (a === undefined || b === undefined) return false;
      return m[2] === '=' ? a === b : m[2] === '<' ? a < b : a >= b;
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

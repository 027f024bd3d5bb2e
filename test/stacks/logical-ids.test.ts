import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildApp } from '../support/app';
import { EIGHT_REGIONS, load } from '../support/fixture';

/**
 * CloudFormation replaces a resource whose logical id changes: a database, bucket, table, key,
 * queue or log group would be emptied. Refactoring the stacks must keep these ids exactly.
 */
const STATEFUL = [
  'AWS::Backup::BackupVault',
  'AWS::DynamoDB::GlobalTable',
  'AWS::DynamoDB::Table',
  'AWS::KMS::Key',
  'AWS::Logs::LogGroup',
  'AWS::OpenSearchService::Domain',
  'AWS::RDS::DBCluster',
  'AWS::RDS::DBInstance',
  'AWS::RDS::GlobalCluster',
  'AWS::S3::Bucket',
  'AWS::SecretsManager::Secret',
  'AWS::SQS::Queue',
];
const isStateful = (type: string) =>
  STATEFUL.includes(type) || type.startsWith('AWS::ElastiCache::');

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'stateful-logical-ids.json');
/**
 * Regenerate only when a replacement is intended (and say so in the commit):
 * `MERIDIAN_WRITE_LOGICAL_IDS=1 npm run jest -- test/stacks/logical-ids.test.ts`
 */
const WRITE = process.env.MERIDIAN_WRITE_LOGICAL_IDS === '1';

type Ids = Record<string, Record<string, string[]>>;

/** Stack name → stateful resource type → sorted logical ids. */
function statefulLogicalIds(): Ids {
  const built = buildApp(load(EIGHT_REGIONS));
  const assembly = built.app.synth();
  const ids: Ids = {};
  for (const stack of built.stacks) {
    const { Resources } = assembly.getStackByName(stack.stackName).template as {
      Resources: Record<string, { Type: string }>;
    };
    const byType: Record<string, string[]> = {};
    for (const [id, r] of Object.entries(Resources))
      if (isStateful(r.Type)) byType[r.Type] = [...(byType[r.Type] ?? []), id];
    ids[stack.stackName] = Object.fromEntries(
      Object.entries(byType)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([type, list]) => [type, list.sort()]),
    );
  }
  return ids;
}

test('stateful resources keep their logical ids (test/fixtures/stateful-logical-ids.json)', () => {
  const actual = statefulLogicalIds();
  if (WRITE) {
    const doc = {
      $comment:
        'Logical ids of stateful resources of test/fixtures/eight-regions, captured before the RegionalStack split. Regenerate only for an intended replacement: MERIDIAN_WRITE_LOGICAL_IDS=1 npm run jest -- test/stacks/logical-ids.test.ts',
      stacks: actual,
    };
    fs.writeFileSync(FIXTURE, `${JSON.stringify(doc, null, 2)}\n`);
  }
  const expected = (JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as { stacks: Ids }).stacks;
  expect(Object.keys(expected)).toHaveLength(8);
  // A renamed id is a missing one plus a new one; new stateful resources are not replacements.
  const missing = Object.entries(expected).flatMap(([stack, byType]) =>
    Object.entries(byType).flatMap(([type, ids]) =>
      ids
        .filter((id) => !actual[stack]?.[type]?.includes(id))
        .map((id) => `${stack} ${type} ${id}`),
    ),
  );
  expect(missing).toEqual([]);
});

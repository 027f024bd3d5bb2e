import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import {
  CONTROL_TOWER_RULES,
  ControlTowerGuard,
  ruleGroups,
  runGroups,
  slice,
} from '../../lib/compliance/control-tower-guard';

/** The sliced Control Tower guard against the package's own whole-template run. */
jest.setTimeout(120_000);

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-guard-'));
const write = (dir: string, name: string, template: unknown) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(template));
  return file;
};
const context = (templatePaths: string[]) => ({
  templatePaths,
  stackTemplates: [],
  appConstruct: undefined as never,
});
const found = (r: {
  violations: { ruleName: string; violatingResources: { resourceLogicalId?: string }[] }[];
}) =>
  [
    ...new Set(
      r.violations.flatMap((v) =>
        v.violatingResources.map((x) => `${v.ruleName} ${x.resourceLogicalId}`),
      ),
    ),
  ].sort();

const TEMPLATE = {
  Resources: {
    Bare: { Type: 'AWS::SQS::Queue', Properties: {} },
    Dlq: { Type: 'AWS::SQS::Queue', Properties: {} },
    WithDlq: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': ['Dlq', 'Arn'] },
          maxReceiveCount: 3,
        },
      },
    },
    Fn: {
      Type: 'AWS::Lambda::Function',
      Properties: { Role: 'arn:aws:iam::1:role/x', Code: { ZipFile: 'x' } },
    },
    Open: {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: { Ref: 'Fn' },
        Principal: 's3.amazonaws.com',
      },
    },
    Scoped: {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: { Ref: 'Fn' },
        Principal: 's3.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': ['Bucket', 'Arn'] },
      },
    },
    Bucket: { Type: 'AWS::S3::Bucket', Properties: {} },
  },
};

test('finds what the whole-template run finds, and names the original template', () => {
  const dir = tmp();
  const file = write(dir, 'stack.template.json', TEMPLATE);
  const sliced = new ControlTowerGuard(undefined, { cache: false }).validate(context([file]));
  const whole = new CfnGuardValidator().validate({
    templatePaths: [file],
    appConstruct: undefined as never,
  });
  expect(found(sliced)).toEqual(found(whole));
  expect(found(sliced)).toEqual(
    expect.arrayContaining([
      'sqs_dlq_check Bare',
      'lambda_function_public_access_prohibited_check Open',
    ]),
  );
  expect(found(sliced)).not.toContain('sqs_dlq_check WithDlq');
  expect(found(sliced)).not.toContain('lambda_function_public_access_prohibited_check Scoped');
  expect(sliced.success).toBe(false);
  for (const v of sliced.violations)
    for (const r of v.violatingResources) expect(r.templatePath).toBe(file);
});

test('groups shared between threads find exactly what one thread finds, in the same order', () => {
  const file = write(tmp(), 'stack.template.json', TEMPLATE);
  const jobs = ruleGroups()
    .filter((g) => g.types.has('AWS::SQS::Queue') || g.types.has('AWS::Lambda::Permission'))
    .map((g) => ({ files: g.files, slices: [file], weight: g.files.length }));
  const one = runGroups(jobs, 1);
  const two = runGroups(jobs, 2);
  expect(two).toEqual(one);
  expect(one.every((r) => r.ran)).toBe(true);
  expect(one.flatMap((r) => r.violations).length).toBeGreaterThan(0);
  // A group that cannot run is a finding in a thread too, never a pass; the others still run.
  const broken = runGroups(
    [...jobs.slice(0, 3), { files: ['/nowhere.guard'], slices: [file], weight: 1 }],
    2,
  );
  expect(broken.slice(0, 3)).toEqual(one.slice(0, 3));
  expect(broken[3]).toMatchObject({
    ran: false,
    violations: [{ ruleName: 'guard-did-not-run', severity: 'error' }],
  });
});

test('a slice keeps the resources its resources reference', () => {
  const sqs = ruleGroups().find((g) => g.types.has('AWS::SQS::Queue') && g.types.size === 1);
  expect(sqs).toBeDefined();
  const kept = slice(TEMPLATE, new Set(['AWS::Lambda::Permission']));
  expect(Object.keys(kept).sort()).toEqual(['Bucket', 'Fn', 'Open', 'Scoped']);
});

test('a compliant template passes', () => {
  const dir = tmp();
  const file = write(dir, 'ok.template.json', {
    Resources: {
      Dlq: {
        Type: 'AWS::SQS::Queue',
        Properties: {
          RedriveAllowPolicy: { redrivePermission: 'allowAll' },
          KmsMasterKeyId: 'alias/x',
        },
      },
    },
  });
  const r = new ControlTowerGuard(undefined, { cache: false }).validate(context([file]));
  expect(r.violations).toEqual([]);
  expect(r.success).toBe(true);
});

test('cached findings come back for an unchanged slice, mapped to the new template path', () => {
  const cache = tmp();
  const first = write(tmp(), 'a.template.json', TEMPLATE);
  const guard = new ControlTowerGuard(undefined, { cache });
  const a = guard.validate(context([first]));
  expect(fs.readdirSync(cache).length).toBeGreaterThan(0);
  const second = write(tmp(), 'a.template.json', TEMPLATE);
  const b = guard.validate(context([second]));
  expect(found(b)).toEqual(found(a));
  for (const v of b.violations)
    for (const r of v.violatingResources) expect(r.templatePath).toBe(second);
});

test('a guard that cannot run fails synth instead of passing', () => {
  const rules = tmp();
  fs.writeFileSync(
    path.join(rules, 'broken.guard'),
    'let x = Resources.*[ Type == "AWS::SQS::Queue" \nrule {',
  );
  const file = write(tmp(), 'stack.template.json', TEMPLATE);
  const r = new ControlTowerGuard(rules, { cache: false }).validate(context([file]));
  expect(r.success).toBe(false);
  expect(r.violations.map((v) => v.ruleName)).toEqual(['guard-did-not-run']);
  expect(r.violations[0]?.description).toMatch(/cannot parse .*broken\.guard/);
  expect(CONTROL_TOWER_RULES).toMatch(/control-tower/);
});

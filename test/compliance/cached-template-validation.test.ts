import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CloudFormationValidatePlugin } from 'aws-cdk-lib';
import { CachedTemplateValidation } from '../../lib/compliance/cached-template-validation';

/** aws-cdk-lib's template validation, remembered by content: same findings, cached or not. */
jest.setTimeout(120_000);

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-tv-'));
const GOOD = { Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: {} } } };
// VisibilityTimeout is an integer in the SQS queue schema; a list breaks it.
const BAD = {
  Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: [1, 2] } } },
};

function contextOf(dir: string, templates: Record<string, unknown>) {
  const stackTemplates = Object.entries(templates).map(([name, t]) => {
    const templatePath = path.join(dir, `${name}.template.json`);
    fs.writeFileSync(templatePath, JSON.stringify(t));
    return {
      stackConstructPath: name,
      templatePath,
      accountId: '111111111111',
      region: 'eu-west-1',
    };
  });
  return {
    templatePaths: stackTemplates.map((s) => s.templatePath),
    stackTemplates,
    appConstruct: undefined as never,
  };
}
const findings = (r: {
  violations: {
    ruleName: string;
    violatingResources: { templatePath?: string; resourceLogicalId?: string }[];
  }[];
}) =>
  r.violations
    .flatMap((v) =>
      v.violatingResources.map(
        (x) => `${path.basename(x.templatePath ?? '')} ${x.resourceLogicalId} ${v.ruleName}`,
      ),
    )
    .sort();

test('it is the built-in plugin (so it replaces the default one) under the same name', () => {
  const plugin = new CachedTemplateValidation({ cache: false });
  expect(plugin).toBeInstanceOf(CloudFormationValidatePlugin);
  expect(plugin.name).toBe(CloudFormationValidatePlugin.PLUGIN_NAME);
});

test('a bad template is reported the same fresh, from the cache, and by the built-in plugin', () => {
  const cache = tmp();
  const context = contextOf(tmp(), { bad: BAD, good: GOOD });
  const builtIn = findings(new CloudFormationValidatePlugin().validate(context));
  expect(builtIn.length).toBeGreaterThan(0);
  expect(builtIn.every((f) => f.startsWith('bad.template.json Queue'))).toBe(true);

  const fresh = new CachedTemplateValidation({ cache }).validate(context);
  expect(fresh.success).toBe(false);
  expect(findings(fresh)).toEqual(builtIn);
  expect(fs.readdirSync(cache)).toHaveLength(2);

  // Another run, another output folder: the findings come from the cache, at the new paths.
  const again = contextOf(tmp(), { bad: BAD, good: GOOD });
  const cached = new CachedTemplateValidation({ cache });
  const spy = jest.spyOn(CloudFormationValidatePlugin.prototype, 'validate');
  const replay = cached.validate(again);
  expect(spy).not.toHaveBeenCalled();
  spy.mockRestore();
  expect(replay.success).toBe(false);
  expect(findings(replay)).toEqual(builtIn);
  expect(replay.violations.flatMap((v) => v.violatingResources.map((r) => r.templatePath))).toEqual(
    expect.arrayContaining([again.stackTemplates[0]?.templatePath]),
  );
});

test('a changed template is validated again; an unchanged one is not', () => {
  const cache = tmp();
  new CachedTemplateValidation({ cache }).validate(contextOf(tmp(), { a: GOOD, b: GOOD }));
  const spy = jest.spyOn(CloudFormationValidatePlugin.prototype, 'validate');
  const r = new CachedTemplateValidation({ cache }).validate(contextOf(tmp(), { a: GOOD, b: BAD }));
  expect(spy).toHaveBeenCalledTimes(1);
  expect(spy.mock.calls[0]?.[0].stackTemplates.map((s) => s.stackConstructPath)).toEqual(['b']);
  spy.mockRestore();
  expect(r.success).toBe(false);
  expect(findings(r).every((f) => f.startsWith('b.template.json'))).toBe(true);
});

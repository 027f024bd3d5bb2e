import { functionEnvironments, type Template } from '../../bench/template-env';
import { ARN } from '../../lambda/shared/env';

const template: Template = {
  Resources: {
    Topic: { Type: 'AWS::SNS::Topic' },
    Machine: { Type: 'AWS::StepFunctions::StateMachine' },
    Queue: { Type: 'AWS::SQS::Queue' },
    Secret: { Type: 'AWS::SecretsManager::Secret' },
    Table: { Type: 'AWS::DynamoDB::Table' },
    Role: { Type: 'AWS::IAM::Role' },
    Fn: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Environment: {
          Variables: {
            TOPIC: { Ref: 'Topic' },
            MACHINE: { Ref: 'Machine' },
            MACHINE_ATT: { 'Fn::GetAtt': ['Machine', 'Arn'] },
            QUEUE_URL: { Ref: 'Queue' },
            QUEUE_ARN: { 'Fn::GetAtt': ['Queue', 'Arn'] },
            SECRET: { Ref: 'Secret' },
            TABLE: { Ref: 'Table' },
            TABLE_ARN: { 'Fn::GetAtt': ['Table', 'Arn'] },
            ROLE_ARN: { 'Fn::GetAtt': ['Role', 'Arn'] },
            JOINED: { 'Fn::Join': ['-', [{ Ref: 'AWS::Region' }, 'x']] },
            PLAIN: 'as-is',
          },
        },
      },
    },
  },
};

describe('bench stand-ins for intrinsic values', () => {
  const env = functionEnvironments(template, 'eu-west-1', '123456789012').get('Fn') ?? {};

  test('a Ref returns what CloudFormation returns for the type: the ARN of topics, state machines and secrets', () => {
    for (const key of ['TOPIC', 'MACHINE', 'SECRET']) expect(env[key]).toMatch(ARN);
    expect(env.TOPIC).toMatch(/^arn:aws:sns:eu-west-1:123456789012:/);
    expect(env.MACHINE).toMatch(/^arn:aws:states:eu-west-1:123456789012:stateMachine:/);
    expect(env.MACHINE_ATT).toBe(env.MACHINE);
  });

  test('a queue Ref is its URL, a table Ref its name, and Arn attributes have the service prefix', () => {
    expect(env.QUEUE_URL).toMatch(/^https:\/\/sqs\.eu-west-1\.amazonaws\.com\/123456789012\//);
    expect(env.QUEUE_ARN).toMatch(/^arn:aws:sqs:eu-west-1:123456789012:/);
    expect(env.TABLE).not.toMatch(/^arn:/);
    expect(env.TABLE_ARN).toMatch(/^arn:aws:dynamodb:eu-west-1:123456789012:table\//);
    expect(env.ROLE_ARN).toMatch(/^arn:aws:iam::123456789012:role\//);
  });

  test('joins, pseudo parameters and plain strings', () => {
    expect(env.JOINED).toBe('eu-west-1-x');
    expect(env.PLAIN).toBe('as-is');
  });

  test('an intrinsic it has no stand-in for stops the bench with the value named', () => {
    const bad: Template = {
      Resources: {
        Fn: {
          Type: 'AWS::Lambda::Function',
          Properties: { Environment: { Variables: { X: { 'Fn::Sub': 'x' } } } },
        },
      },
    };
    expect(() => functionEnvironments(bad, 'eu-west-1', '123456789012')).toThrow(/Fn::Sub/);
  });
});

import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { DataKeyProvider, KEY_MAX_AGE_SECONDS, secretString } from '../../lambda/shared/sync/aws';

const ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:pseudonym';
const KEY = 'arn:aws:kms:eu-west-1:111111111111:key/k';

beforeEach(() => jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') }));
afterEach(() => jest.useRealTimers());

describe('secretString (Powertools Parameters)', () => {
  const sm = mockClient(SecretsManagerClient);
  beforeEach(() => sm.reset());

  test('reuses a secret for maxAge seconds, then reads it again', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'one' })
      .resolves({ SecretString: 'two' });
    const secrets = new SecretsProvider({ awsSdkV3Client: new SecretsManagerClient({}) });
    expect(await secretString(secrets, ARN, KEY_MAX_AGE_SECONDS)).toBe('one');
    jest.advanceTimersByTime((KEY_MAX_AGE_SECONDS - 1) * 1000);
    expect(await secretString(secrets, ARN, KEY_MAX_AGE_SECONDS)).toBe('one');
    jest.advanceTimersByTime(2000);
    expect(await secretString(secrets, ARN, KEY_MAX_AGE_SECONDS)).toBe('two');
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: ARN },
      { SecretId: ARN },
    ]);
  });

  test('a binary or empty secret is an error naming the secret, not its value', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretBinary: new Uint8Array([1, 2]) })
      .resolves({ SecretString: '' });
    const secrets = new SecretsProvider({ awsSdkV3Client: new SecretsManagerClient({}) });
    await expect(secretString(secrets, ARN)).rejects.toThrow(`secret ${ARN} has no string value`);
    await expect(secretString(secrets, `${ARN}-2`)).rejects.toThrow('has no string value');
  });

  test('an access error keeps the service message', async () => {
    sm.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException: not allowed'));
    const secrets = new SecretsProvider({ awsSdkV3Client: new SecretsManagerClient({}) });
    await expect(secretString(secrets, ARN)).rejects.toThrow('AccessDeniedException: not allowed');
  });
});

describe('DataKeyProvider (Powertools Parameters)', () => {
  const kms = mockClient(KMSClient);
  beforeEach(() => kms.reset());
  const key = (n: number) => ({
    Plaintext: new Uint8Array(32).fill(n),
    CiphertextBlob: new Uint8Array([n, n]),
  });

  test('one AES-256 data key per hour, the wrapped copy in base64', async () => {
    kms.on(GenerateDataKeyCommand).resolvesOnce(key(1)).resolves(key(2));
    const keys = new DataKeyProvider(new KMSClient({}));
    const first = await keys.dataKey(KEY);
    expect(first.plaintext).toEqual(Buffer.alloc(32, 1));
    expect(first.wrapped).toBe(Buffer.from([1, 1]).toString('base64'));
    jest.advanceTimersByTime(59 * 60 * 1000);
    expect(await keys.dataKey(KEY)).toBe(first);
    jest.advanceTimersByTime(2 * 60 * 1000);
    expect((await keys.dataKey(KEY)).plaintext).toEqual(Buffer.alloc(32, 2));
    expect(kms.commandCalls(GenerateDataKeyCommand).map((c) => c.args[0].input)).toEqual([
      { KeyId: KEY, KeySpec: 'AES_256' },
      { KeyId: KEY, KeySpec: 'AES_256' },
    ]);
  });

  test('KMS answering without a key is an error, and nothing is cached', async () => {
    kms.on(GenerateDataKeyCommand).resolvesOnce({}).resolves(key(3));
    const keys = new DataKeyProvider(new KMSClient({}));
    await expect(keys.dataKey(KEY)).rejects.toThrow('KMS returned no data key');
    expect((await keys.dataKey(KEY)).plaintext).toEqual(Buffer.alloc(32, 3));
  });
});

import { copyRegions, edit, load, problemsOf } from '../support/fixture';

const region = (c: ReturnType<typeof load>, id: string) => {
  const r = c.regions.find((x) => x.id === id);
  if (!r) throw new Error(`no region ${id}`);
  return r;
};

describe('config precedence: global → region → overlay → environment variables', () => {
  test('schema defaults fill what no file sets', () => {
    const c = load(copyRegions());
    expect(region(c, 'us-east-1').settings.sync).toEqual({
      scheduleMinutes: 5,
      batchSize: 1000,
      maxAttempts: 5,
      lagAlarmSeconds: 900,
      maxClockAheadSeconds: 60,
      relaySeconds: 90,
      realtimeLagAlarmMs: 1000,
    });
    expect(region(c, 'us-east-1').settings.observability.logRetentionDays).toBe(365);
  });

  test('a global default applies to every region; a region setting beats it', () => {
    const dir = copyRegions();
    edit(
      dir,
      'us-east-1.yaml',
      'capacity: 100',
      'capacity: 100\nsettings:\n  network:\n    natGateways: 2',
    );
    const c = load(dir);
    expect(region(c, 'eu-west-1').settings.network.natGateways).toBe(1);
    expect(region(c, 'us-east-1').settings.network.natGateways).toBe(2);
    // Maps merge key by key: the region changed natGateways only.
    expect(region(c, 'us-east-1').settings.network.maxAzs).toBe(3);
  });

  test('the overlay of -c env=staging overrides both files', () => {
    const c = load(copyRegions(), { env: 'staging' });
    expect(c.env).toBe('staging');
    expect(c.global.account).toBe('222222222222');
    expect(region(c, 'eu-west-1').capacity).toBe(10);
    expect(region(c, 'us-east-1').capacity).toBe(100);
    expect(region(c, 'us-east-1').settings.observability.logRetentionDays).toBe(30);
  });

  test("an overlay's global default beats a region file's own setting (later layer wins)", () => {
    const dir = copyRegions();
    edit(
      dir,
      'us-east-1.yaml',
      'capacity: 100',
      'capacity: 100\nsettings:\n  observability:\n    logRetentionDays: 90',
    );
    expect(region(load(dir), 'us-east-1').settings.observability.logRetentionDays).toBe(90);
    expect(
      region(load(dir, { env: 'staging' }), 'us-east-1').settings.observability.logRetentionDays,
    ).toBe(30);
  });

  test('environment variables beat the overlay; names match keys ignoring case and dashes', () => {
    const c = load(copyRegions(), {
      env: 'staging',
      environ: {
        MERIDIAN__REGIONS__EU_WEST_1__CAPACITY: '42',
        MERIDIAN__GLOBAL__DEFAULTS__OBSERVABILITY__LOG_RETENTION_DAYS: '14',
        MERIDIAN__GLOBAL__ACCOUNT: '333333333333',
        MERIDIAN__REGIONS__US_EAST_1__COMPLIANCE: '[SOC2, HIPAA]',
      },
    });
    expect(region(c, 'eu-west-1').capacity).toBe(42);
    expect(region(c, 'eu-central-1').settings.observability.logRetentionDays).toBe(14);
    // A string field keeps the text as given (no number conversion of account ids).
    expect(c.global.account).toBe('333333333333');
    expect(region(c, 'us-east-1').compliance).toEqual(['SOC2', 'HIPAA']);
  });

  test('a region environment variable beats a global one of the same layer', () => {
    const c = load(copyRegions(), {
      environ: {
        MERIDIAN__GLOBAL__DEFAULTS__LAMBDA__MEMORY_MB: '512',
        MERIDIAN__REGIONS__US_EAST_1__SETTINGS__LAMBDA__MEMORY_MB: '1024',
      },
    });
    expect(region(c, 'eu-west-1').settings.lambda.memoryMb).toBe(512);
    expect(region(c, 'us-east-1').settings.lambda.memoryMb).toBe(1024);
  });

  test.each([
    [
      'bad value, named by its variable',
      { MERIDIAN__REGIONS__EU_WEST_1__CAPACITY: 'many' },
      [
        'env MERIDIAN__REGIONS__EU_WEST_1__CAPACITY regions.eu-west-1.capacity: got "many"; expected a number',
      ],
    ],
    [
      'unknown region',
      { MERIDIAN__REGIONS__EU_WEST_9__CAPACITY: '1' },
      [
        'env MERIDIAN__REGIONS__EU_WEST_9__CAPACITY: got "EU_WEST_9"; expected a region that has a file in regions/ (eu-central-1, eu-west-1, us-east-1)',
      ],
    ],
    [
      'misspelt field',
      { MERIDIAN__GLOBAL__PLATFROM: 'x' },
      [
        'env MERIDIAN__GLOBAL__PLATFROM global.platfrom: got "x"; expected no field named platfrom here: remove it or fix its spelling (fields: platform, account, dns, tags, routing, cloudflare, alerts, dataClasses, jurisdictions, defaults)',
      ],
    ],
    [
      'malformed name',
      { MERIDIAN__CAPACITY: '1' },
      [
        'env MERIDIAN__CAPACITY: got "MERIDIAN__CAPACITY"; expected MERIDIAN__GLOBAL__<FIELD>[__<FIELD>...] or MERIDIAN__REGIONS__<REGION_ID>__<FIELD>[...]',
      ],
    ],
  ])('environment variable problem: %s', (_n, environ, expected) => {
    expect(problemsOf(copyRegions(), { environ })).toEqual(expected);
  });

  test('an env without an overlay file is an error, not a silent prod', () => {
    expect(problemsOf(copyRegions(), { env: 'stagign' })).toEqual([
      '-c env: got "stagign"; expected an environment with an overlay file regions/overlays/stagign.yaml (existing: staging), or prod',
    ]);
  });

  test('an overlay naming an unknown region is an error with its line', () => {
    const dir = copyRegions();
    edit(dir, 'overlays/staging.yaml', 'eu-west-1:', 'eu-west-9:');
    expect(problemsOf(dir, { env: 'staging' })).toEqual([
      'regions/overlays/staging.yaml:7 regions.eu-west-9: got "eu-west-9"; expected a region that has a file in regions/ (eu-central-1, eu-west-1, us-east-1)',
    ]);
  });
});

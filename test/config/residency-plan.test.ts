import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { EIGHT_REGIONS, load } from '../support/fixture';

/** The eight-regions fixture (a frozen copy of the shipped example) as the reference case: US, EU, India, UAE and APAC. */
const config = load(EIGHT_REGIONS);
const index = new ResidencyIndex(config.plan);

describe('residency plan of the eight-regions fixture', () => {
  const notPersonal = (c: string) => ({
    basis: 'not-personal-data',
    reference: `dataClasses.${c}.personalData: false`,
  });
  const usToApac = {
    basis: 'not-restricted',
    reference:
      'CCPA/CPRA set no cross-border transfer restriction; recipients are bound by service-provider contracts',
  };
  const apacToUs = {
    basis: 'consent',
    reference:
      "PDPA s.26 and PDP Regulations 2021 reg. 10(1)(a): the individual's consent to the transfer",
  };
  const consented = { consent: true };
  test.each([
    // class, from, to, what the record carries, expected decision
    [
      'public',
      'eu-west-1',
      'us-east-1',
      undefined,
      { allowed: true, mode: 'full', encrypted: false, basis: notPersonal('public') },
    ],
    [
      'internal',
      'eu-west-1',
      'ap-southeast-1',
      undefined,
      { allowed: true, mode: 'full', encrypted: true, basis: notPersonal('internal') },
    ],
    [
      'pii',
      'eu-west-1',
      'eu-central-1',
      undefined,
      { allowed: true, mode: 'full', encrypted: true },
    ],
    ['phi', 'us-east-1', 'us-west-2', undefined, { allowed: true, mode: 'full', encrypted: true }],
    [
      'pii',
      'us-east-1',
      'ap-southeast-1',
      undefined,
      { allowed: true, mode: 'masked', encrypted: true, basis: usToApac },
    ],
    [
      'pii',
      'ap-southeast-1',
      'us-west-2',
      consented,
      { allowed: true, mode: 'masked', encrypted: true, basis: apacToUs },
    ],
    [
      'internal',
      'ap-south-1',
      'ap-south-2',
      undefined,
      { allowed: true, mode: 'full', encrypted: true },
    ],
  ])('%s %s → %s is allowed', (cls, from, to, record, expected) => {
    expect(index.decide(cls, from, to, record)).toEqual(expected);
  });

  test('a transfer that rests on consent carries only a record with consent, and no store copies it', () => {
    expect(index.decide('pii', 'ap-southeast-1', 'us-west-2', { consent: false })).toEqual({
      allowed: false,
      reason:
        "pii leaves apac for us only with the subject's consent (jurisdictions.apac.transfers.us.basis: consent) and the record carries none",
    });
    expect(index.decide('pii', 'ap-southeast-1', 'us-west-2')).toEqual({
      allowed: false,
      reason:
        "pii leaves apac for us only with the subject's consent (jurisdictions.apac.transfers.us.basis: consent) and a store replicating the whole class cannot ask",
    });
    expect(index.fullReplicaTargets('ap-southeast-1', ['pii'])).toEqual([]);
    // Consent changes nothing where the basis is not consent.
    expect(index.decide('pii', 'us-east-1', 'ap-southeast-1', { consent: false })).toMatchObject({
      allowed: true,
    });
  });

  test.each([
    [
      'pii',
      'eu-west-1',
      'us-east-1',
      'pii is jurisdiction-bound and European Union (GDPR) allows no masked export to us (maskedExportTo): eu-west-1 (eu) → us-east-1 (us) leaves the jurisdiction',
    ],
    [
      'sensitive',
      'us-east-1',
      'eu-west-1',
      'sensitive is jurisdiction-bound: us-east-1 (us) → eu-west-1 (eu) leaves the jurisdiction',
    ],
    [
      'phi',
      'me-central-1',
      'eu-west-1',
      'phi is jurisdiction-bound: me-central-1 (ae) → eu-west-1 (eu) leaves the jurisdiction',
    ],
    [
      'internal',
      'ap-south-1',
      'ap-southeast-1',
      'India (DPDP Act, RBI data localisation) localises internal data (localisedClasses): ap-south-1 (in) → ap-southeast-1 (apac) leaves the jurisdiction',
    ],
    [
      'pii',
      'us-east-1',
      'eu-west-1',
      'pii is jurisdiction-bound and United States allows no masked export to eu (maskedExportTo): us-east-1 (us) → eu-west-1 (eu) leaves the jurisdiction',
    ],
  ])('%s %s → %s is denied with its reason', (cls, from, to, reason) => {
    expect(index.decide(cls, from, to)).toEqual({ allowed: false, reason });
  });

  test.each([
    ['secret', 'eu-west-1', 'eu-central-1', 'unknown data class "secret"'],
    ['public', 'eu-west-1', 'eu-north-1', 'unknown region "eu-north-1"'],
  ])('fails closed on unknown input: %s %s → %s', (cls, from, to, reason) => {
    expect(index.decide(cls, from, to)).toEqual({ allowed: false, reason });
  });

  test.each([
    ['us', 'us-east-1', ['us-east-1', 'us-west-2'], true],
    ['eu', 'eu-west-1', ['eu-west-1', 'eu-central-1'], true],
    ['in', 'ap-south-1', ['ap-south-1', 'ap-south-2'], true],
    ['ae', 'me-central-1', ['me-central-1'], false],
    ['apac', 'ap-southeast-1', ['ap-southeast-1'], false],
  ])('cell %s: primary %s, regions %j, cross-region DR %s', (j, primary, regions, dr) => {
    const cell = config.plan.cells.find((c) => c.jurisdiction === j);
    expect(cell).toMatchObject({ primary, regions, hasCrossRegionDr: dr });
  });

  test.each([
    // A store holding pii and phi (Aurora) may only have secondaries in its own jurisdiction.
    ['eu-west-1', ['public', 'pii', 'phi'], ['eu-central-1']],
    ['me-central-1', ['pii'], []],
    // A store of public data only may go everywhere.
    [
      'me-central-1',
      ['public'],
      [
        'ap-south-1',
        'ap-south-2',
        'ap-southeast-1',
        'eu-central-1',
        'eu-west-1',
        'us-east-1',
        'us-west-2',
      ],
    ],
    // India localises internal data too.
    ['ap-south-1', ['internal'], ['ap-south-2']],
  ])('full replica targets of %s for %j', (from, classes, targets) => {
    expect(index.fullReplicaTargets(from, classes)).toEqual(targets);
  });

  test('every ordered region pair × class is decided exactly once (allowed or denied)', () => {
    const n = config.regions.length;
    const classes = config.plan.dataClasses.length;
    expect(config.plan.edges.length + config.plan.denied.length).toBe(n * (n - 1) * classes);
  });

  test('the plan is deterministic', () => {
    expect(JSON.stringify(load(EIGHT_REGIONS).plan)).toBe(JSON.stringify(config.plan));
  });

  test('jurisdiction and cell of a region; undefined for a region the plan does not know', () => {
    expect(index.jurisdictionOf('ap-south-2')).toBe('in');
    expect(index.jurisdictionOf('eu-west-1')).toBe('eu');
    expect(index.jurisdictionOf('xx-nowhere-1')).toBeUndefined();
    expect(index.cellOf('eu-central-1')?.jurisdiction).toBe('eu');
    expect(index.cellOf('ap-south-1')?.jurisdiction).toBe('in');
    expect(index.cellOf('xx-nowhere-1')).toBeUndefined();
  });
});

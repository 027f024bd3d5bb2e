import {
  computeResidencyPlan,
  ResidencyIndex,
  type ResidencyInput,
} from '../../lambda/shared/residency-plan';

/**
 * `computeResidencyPlan` on small hand-built inputs, called inside each test (a plan built at
 * module scope runs before Stryker activates a mutant, so it cannot kill one).
 */
const jurisdiction = (
  name: string,
  more: Partial<ResidencyInput['jurisdictions'][string]> = {},
): ResidencyInput['jurisdictions'][string] => ({
  name,
  residencyBound: true,
  countries: [],
  localisedClasses: [],
  maskedExportTo: [],
  ...more,
});

const region = (
  id: string,
  j: string,
  tier: 'primary' | 'secondary' | 'tertiary' = 'primary',
  failoverPriority = 0,
): ResidencyInput['regions'][number] => ({
  id,
  jurisdiction: j,
  tier,
  failoverPriority,
  capacity: 1,
  countries: [],
});

/** us exports masked data to eu only; eu localises `internal`, us localises `audit`. */
const rulesInput: ResidencyInput = {
  dataClasses: {
    public: {
      scope: 'global',
      maskedProjection: false,
      requiresEncryption: false,
      personalData: false,
    },
    internal: {
      scope: 'global',
      maskedProjection: false,
      requiresEncryption: true,
      personalData: false,
    },
    audit: { scope: 'global', maskedProjection: true, requiresEncryption: true },
    pii: { scope: 'jurisdiction', maskedProjection: true, requiresEncryption: true },
    phi: { scope: 'jurisdiction', maskedProjection: false, requiresEncryption: true },
  },
  jurisdictions: {
    us: jurisdiction('United States', {
      localisedClasses: ['audit'],
      maskedExportTo: ['eu'],
      transfers: { eu: { basis: 'contractual-clauses', reference: 'SCCs' } },
    }),
    eu: jurisdiction('European Union', { localisedClasses: ['internal', 'audit'] }),
  },
  regions: [region('us-2', 'us', 'secondary', 1), region('eu-1', 'eu'), region('us-1', 'us')],
};

/** One line per edge, so a whole plan reads (and fails) at a glance. */
const edgeLines = (input: ResidencyInput) =>
  computeResidencyPlan(input).edges.map(
    (e) =>
      `${e.dataClass} ${e.from}>${e.to} ${e.mode}${e.encrypted ? ' encrypted' : ''}${e.crossJurisdiction ? ` cross on ${e.basis?.basis}` : ''}`,
  );

describe('computeResidencyPlan', () => {
  test('edges: full inside a jurisdiction and for global classes, masked where maskedExportTo allows, encrypted as the class requires', () => {
    expect(edgeLines(rulesInput)).toEqual([
      'audit us-1>eu-1 masked encrypted cross on contractual-clauses',
      'audit us-1>us-2 full encrypted',
      'audit us-2>eu-1 masked encrypted cross on contractual-clauses',
      'audit us-2>us-1 full encrypted',
      'internal us-1>eu-1 full encrypted cross on not-personal-data',
      'internal us-1>us-2 full encrypted',
      'internal us-2>eu-1 full encrypted cross on not-personal-data',
      'internal us-2>us-1 full encrypted',
      'phi us-1>us-2 full encrypted',
      'phi us-2>us-1 full encrypted',
      'pii us-1>eu-1 masked encrypted cross on contractual-clauses',
      'pii us-1>us-2 full encrypted',
      'pii us-2>eu-1 masked encrypted cross on contractual-clauses',
      'pii us-2>us-1 full encrypted',
      'public eu-1>us-1 full cross on not-personal-data',
      'public eu-1>us-2 full cross on not-personal-data',
      'public us-1>eu-1 full cross on not-personal-data',
      'public us-1>us-2 full',
      'public us-2>eu-1 full cross on not-personal-data',
      'public us-2>us-1 full',
    ]);
  });

  test('denied edges name the rule: localisedClasses before maskedExportTo, then jurisdiction-bound', () => {
    expect(
      computeResidencyPlan(rulesInput).denied.map(
        (d) => `${d.dataClass} ${d.from}>${d.to}: ${d.reason}`,
      ),
    ).toEqual([
      'audit eu-1>us-1: European Union localises audit data (localisedClasses): eu-1 (eu) → us-1 (us) leaves the jurisdiction',
      'audit eu-1>us-2: European Union localises audit data (localisedClasses): eu-1 (eu) → us-2 (us) leaves the jurisdiction',
      'internal eu-1>us-1: European Union localises internal data (localisedClasses): eu-1 (eu) → us-1 (us) leaves the jurisdiction',
      'internal eu-1>us-2: European Union localises internal data (localisedClasses): eu-1 (eu) → us-2 (us) leaves the jurisdiction',
      'phi eu-1>us-1: phi is jurisdiction-bound: eu-1 (eu) → us-1 (us) leaves the jurisdiction',
      'phi eu-1>us-2: phi is jurisdiction-bound: eu-1 (eu) → us-2 (us) leaves the jurisdiction',
      'phi us-1>eu-1: phi is jurisdiction-bound: us-1 (us) → eu-1 (eu) leaves the jurisdiction',
      'phi us-2>eu-1: phi is jurisdiction-bound: us-2 (us) → eu-1 (eu) leaves the jurisdiction',
      'pii eu-1>us-1: pii is jurisdiction-bound and European Union allows no masked export to us (maskedExportTo): eu-1 (eu) → us-1 (us) leaves the jurisdiction',
      'pii eu-1>us-2: pii is jurisdiction-bound and European Union allows no masked export to us (maskedExportTo): eu-1 (eu) → us-2 (us) leaves the jurisdiction',
    ]);
  });

  test('personal data crosses a border only on a basis: without one the edge is denied and names the field', () => {
    const input: ResidencyInput = {
      ...rulesInput,
      jurisdictions: {
        ...rulesInput.jurisdictions,
        us: jurisdiction('United States', { localisedClasses: ['audit'], maskedExportTo: ['eu'] }),
      },
    };
    expect(edgeLines(input).filter((l) => / cross/.test(l))).toEqual([
      'internal us-1>eu-1 full encrypted cross on not-personal-data',
      'internal us-2>eu-1 full encrypted cross on not-personal-data',
      'public eu-1>us-1 full cross on not-personal-data',
      'public eu-1>us-2 full cross on not-personal-data',
      'public us-1>eu-1 full cross on not-personal-data',
      'public us-2>eu-1 full cross on not-personal-data',
    ]);
    expect(
      computeResidencyPlan(input)
        .denied.filter((d) => d.dataClass === 'pii' && d.from === 'us-1')
        .map((d) => d.reason),
    ).toEqual([
      'pii is personal data and us records no transfer basis for eu (jurisdictions.us.transfers.eu): us-1 (us) → eu-1 (eu) leaves the jurisdiction',
    ]);
    // A class that does not say it identifies no one is personal data.
    const { personalData: _, ...publicDefault } = rulesInput.dataClasses.public as {
      personalData?: boolean;
    } & ResidencyInput['dataClasses'][string];
    const stricter = computeResidencyPlan({
      ...input,
      dataClasses: { ...input.dataClasses, public: publicDefault },
    });
    expect(stricter.edges.filter((e) => e.dataClass === 'public' && e.crossJurisdiction)).toEqual(
      [],
    );
  });

  test('cells: primary tier first, then failover priority, then id; a jurisdiction without regions has no cell', () => {
    const plan = computeResidencyPlan({
      dataClasses: {
        public: { scope: 'global', maskedProjection: false, requiresEncryption: false },
      },
      jurisdictions: {
        us: jurisdiction('United States', { countries: ['US', 'PR'] }),
        ch: jurisdiction('Switzerland', { residencyBound: false, countries: ['CH'] }),
        xx: jurisdiction('Nowhere'),
      },
      regions: [
        region('us-a', 'us', 'tertiary', 0),
        region('us-b', 'us', 'secondary', 2),
        region('us-c', 'us', 'secondary', 1),
        region('us-e', 'us', 'secondary', 1),
        region('us-d', 'us', 'primary', 9),
        region('ch-1', 'ch', 'secondary', 3),
      ],
    });
    expect(plan.cells).toEqual([
      {
        jurisdiction: 'ch',
        name: 'Switzerland',
        residencyBound: false,
        primary: 'ch-1',
        regions: ['ch-1'],
        countries: ['CH'],
        hasCrossRegionDr: false,
      },
      {
        jurisdiction: 'us',
        name: 'United States',
        residencyBound: true,
        primary: 'us-d',
        regions: ['us-d', 'us-c', 'us-e', 'us-b', 'us-a'],
        countries: ['PR', 'US'],
        hasCrossRegionDr: true,
      },
    ]);
    expect(plan.regions.map((r) => r.id)).toEqual(['ch-1', 'us-a', 'us-b', 'us-c', 'us-d', 'us-e']);
    expect(plan.regions[0]).toEqual({
      id: 'ch-1',
      jurisdiction: 'ch',
      tier: 'secondary',
      failoverPriority: 3,
      capacity: 1,
    });
  });

  test('data classes: sorted by id, conflict, priority and masking rules as given, else the defaults', () => {
    const masking = { fields: { email: 'pseudonymise' as const }, jurisdictions: {} };
    const plan = computeResidencyPlan({
      dataClasses: {
        pii: {
          scope: 'jurisdiction',
          maskedProjection: true,
          requiresEncryption: true,
          conflict: 'home-wins',
          syncPriority: 'batch',
          masking,
        },
        audit: { scope: 'global', maskedProjection: false, requiresEncryption: false },
      },
      jurisdictions: {},
      regions: [],
    });
    expect(plan).toEqual({
      version: 1,
      dataClasses: [
        {
          id: 'audit',
          scope: 'global',
          personalData: true,
          maskedProjection: false,
          requiresEncryption: false,
          conflict: 'lww',
          priority: 'realtime',
          masking: { fields: {}, jurisdictions: {} },
        },
        {
          id: 'pii',
          scope: 'jurisdiction',
          personalData: true,
          maskedProjection: true,
          requiresEncryption: true,
          conflict: 'home-wins',
          priority: 'batch',
          masking,
        },
      ],
      regions: [],
      cells: [],
      edges: [],
      denied: [],
    });
  });

  test('fails closed on a class without rules or a region of an unknown jurisdiction', () => {
    const plan = computeResidencyPlan({
      // A class key with no rules (only possible from untyped input): jurisdiction-bound, encrypted.
      dataClasses: { ghost: undefined } as unknown as ResidencyInput['dataClasses'],
      jurisdictions: { us: jurisdiction('United States') },
      regions: [region('us-1', 'us'), region('us-2', 'us')],
    });
    expect(plan.dataClasses).toEqual([
      {
        id: 'ghost',
        scope: 'jurisdiction',
        personalData: true,
        maskedProjection: false,
        requiresEncryption: true,
        conflict: 'lww',
        priority: 'realtime',
        masking: { fields: {}, jurisdictions: {} },
      },
    ]);
    expect(plan.edges).toEqual([]);
    expect(plan.denied).toEqual([
      { dataClass: 'ghost', from: 'us-1', to: 'us-2', reason: 'unknown data class ghost' },
      { dataClass: 'ghost', from: 'us-2', to: 'us-1', reason: 'unknown data class ghost' },
    ]);

    const orphan = computeResidencyPlan({
      dataClasses: rulesInput.dataClasses,
      jurisdictions: { us: jurisdiction('United States') },
      regions: [region('us-1', 'us'), region('zz-1', 'zz')],
    });
    expect(orphan.cells.map((c) => c.jurisdiction)).toEqual(['us']);
    expect(orphan.denied.filter((d) => d.from === 'zz-1').map((d) => d.reason)).toEqual([
      'unknown data class audit',
      'unknown data class internal',
      'unknown data class phi',
      'unknown data class pii',
      'unknown data class public',
    ]);
  });
});

describe('ResidencyIndex over a computed plan', () => {
  test('full replica targets leave out masked edges', () => {
    const index = new ResidencyIndex(computeResidencyPlan(rulesInput));
    expect(index.decide('pii', 'us-1', 'eu-1')).toEqual({
      allowed: true,
      mode: 'masked',
      encrypted: true,
      basis: { basis: 'contractual-clauses', reference: 'SCCs' },
    });
    expect(index.fullReplicaTargets('us-1', ['pii'])).toEqual(['us-2']);
    expect(index.fullReplicaTargets('us-1', ['public', 'internal'])).toEqual(['eu-1', 'us-2']);
  });

  test('a pair the plan neither allows nor denies is denied', () => {
    const plan = computeResidencyPlan(rulesInput);
    const index = new ResidencyIndex({ ...plan, edges: [], denied: [] });
    expect(index.decide('public', 'us-1', 'eu-1')).toEqual({
      allowed: false,
      reason: 'not in the residency plan',
    });
  });

  test('rules of a class; undefined for an unknown class', () => {
    const index = new ResidencyIndex(computeResidencyPlan(rulesInput));
    expect(index.rulesOf('pii')).toEqual({
      id: 'pii',
      scope: 'jurisdiction',
      personalData: true,
      maskedProjection: true,
      requiresEncryption: true,
      conflict: 'lww',
      priority: 'realtime',
      masking: { fields: {}, jurisdictions: {} },
    });
    expect(index.rulesOf('secret')).toBeUndefined();
  });
});

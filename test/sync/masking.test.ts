import { createDecipheriv, createHmac } from 'node:crypto';
import {
  applyRules,
  compileRules,
  encryptValue,
  Masker,
  MaskingKeyError,
  pseudonymise,
} from '../../lambda/shared/sync/masking';
import type { MaskingRules } from '../../lambda/shared/sync/rules';

const keys = {
  pseudonymKey: Buffer.from('eu-key'),
  dataKey: { plaintext: Buffer.alloc(32, 9), wrapped: 'V1JBUFBFRA==' },
};
const rules: MaskingRules = {
  fields: {
    email: 'pseudonymise',
    country: 'keep',
    'address.city': 'keep',
    taxId: 'encrypt',
    'prefs.*': 'keep',
  },
  jurisdictions: { apac: { 'address.postcode': 'keep', country: 'erase' } },
};
const record = {
  name: 'Ada',
  email: 'ada@example.com',
  country: 'IE',
  taxId: 'IE1234567T',
  address: { city: 'Dublin', street: '1 Main', postcode: 'D01' },
  prefs: { lang: 'en', tz: 'UTC' },
};

describe('masking rules', () => {
  test.each([
    [
      'us',
      { country: 'IE', address: { city: 'Dublin' }, prefs: { lang: 'en', tz: 'UTC' } },
      ['name', 'email', 'taxId', 'address.street', 'address.postcode'],
    ],
    [
      'apac',
      { address: { city: 'Dublin', postcode: 'D01' }, prefs: { lang: 'en', tz: 'UTC' } },
      ['name', 'email', 'country', 'taxId', 'address.street'],
    ],
  ])('to %s: kept fields as they are, the rest masked or erased', (target, kept, masked) => {
    const out = applyRules(compileRules(rules, target), record, keys);
    expect(out.payload).toMatchObject(kept);
    expect(out.payload.name).toBeUndefined();
    expect(out.payload.email).toBe(pseudonymise(keys.pseudonymKey, 'ada@example.com'));
    expect(out.payload.taxId).toMatch(/^enc:v1:V1JBUFBFRA==:/);
    expect(out.maskedFields.sort()).toEqual(masked.sort());
  });

  test('pseudonyms are deterministic per key (joinable) and differ between keys', () => {
    const a = pseudonymise(Buffer.from('k1'), 'ada@example.com');
    expect(pseudonymise(Buffer.from('k1'), 'ada@example.com')).toBe(a);
    expect(pseudonymise(Buffer.from('k2'), 'ada@example.com')).not.toBe(a);
    expect(a).toMatch(/^pz_[A-Za-z0-9_-]{22}$/);
  });

  test('encrypted values decrypt with the data key (home region only holds it)', () => {
    const value = encryptValue(keys.dataKey, { id: 42 });
    const [, , , iv, ct, tag] = value.split(':');
    const d = createDecipheriv(
      'aes-256-gcm',
      keys.dataKey.plaintext,
      Buffer.from(iv ?? '', 'base64'),
    );
    d.setAuthTag(Buffer.from(tag ?? '', 'base64'));
    const plain = Buffer.concat([d.update(Buffer.from(ct ?? '', 'base64')), d.final()]).toString();
    expect(JSON.parse(plain)).toEqual({ id: 42 });
  });

  test('a class without rules leaves with nothing (fails closed)', () => {
    const masker = new Masker(() => undefined, keys);
    expect(masker.mask('unknown', 'us', record)).toEqual({
      payload: {},
      maskedFields: Object.keys(record),
    });
  });

  test('an encrypt rule without a data key is an error, not a plain-text leak', () => {
    const masker = new Masker(() => rules, { pseudonymKey: keys.pseudonymKey });
    expect(() => masker.mask('pii', 'us', record)).toThrow(MaskingKeyError);
    expect(() => masker.mask('pii', 'us', record)).toThrow('taxId: encrypt needs a data key');
    expect(() => masker.mask('pii', 'us', record)).toThrow(
      expect.objectContaining({ name: 'MaskingKeyError' }),
    );
  });

  test('a string is pseudonymised as itself, anything else as its JSON', () => {
    const hmac = (text: string) =>
      `pz_${createHmac('sha256', keys.pseudonymKey).update(text).digest('base64url').slice(0, 22)}`;
    expect(pseudonymise(keys.pseudonymKey, 'ada@example.com')).toBe(hmac('ada@example.com'));
    expect(pseudonymise(keys.pseudonymKey, { id: 7 })).toBe(hmac('{"id":7}'));
  });

  test('a nested rule meets a value that is not an object (null, text, array): erased', () => {
    const tree = compileRules(rules, 'us');
    for (const address of [null, 'Dublin', ['Dublin']])
      expect(applyRules(tree, { address }, keys)).toEqual({
        payload: {},
        maskedFields: ['address'],
      });
  });

  test('an erase rule on an object erases it whole, children rules or not', () => {
    const tree = compileRules(
      { fields: { prefs: 'erase', 'prefs.lang': 'keep' }, jurisdictions: {} },
      'us',
    );
    expect(applyRules(tree, { prefs: { lang: 'en' } }, keys)).toEqual({
      payload: {},
      maskedFields: ['prefs'],
    });
  });

  test('rules compile once per (class, target jurisdiction) and never leak between classes', () => {
    const asked: string[] = [];
    const masker = new Masker((dataClass) => {
      asked.push(dataClass);
      return dataClass === 'pii' ? rules : { fields: { name: 'keep' }, jurisdictions: {} };
    }, keys);
    expect(masker.mask('pii', 'us', { name: 'Ada' }).payload).toEqual({});
    expect(masker.mask('profile', 'us', { name: 'Ada' }).payload).toEqual({ name: 'Ada' });
    masker.mask('pii', 'us', { name: 'Ada' });
    masker.mask('pii', 'apac', { name: 'Ada' });
    expect(asked).toEqual(['pii', 'profile', 'pii']);
  });
});

/**
 * ISO 3166-1 alpha-2 country codes, checked offline against the ICU data Node ships with
 * (no hand-kept list to go stale).
 */
const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });

/** ICU region codes that are not countries (unions, macro-regions, private-use codes). */
const NOT_COUNTRIES = new Set([
  'EU',
  'EZ',
  'UN',
  'QO',
  'XA',
  'XB',
  'ZZ',
  'AC',
  'CP',
  'DG',
  'EA',
  'IC',
  'TA',
]);

/** True when `code` is an upper-case ISO 3166-1 alpha-2 code of a country or territory. */
export function isCountryCode(code: string): boolean {
  if (!/^[A-Z]{2}$/.test(code) || NOT_COUNTRIES.has(code)) return false;
  const name = names.of(code);
  return name !== undefined && name !== code && name !== 'Unknown Region';
}

/** English name of a country code, e.g. `IN` → `India`. */
export function countryName(code: string): string {
  return names.of(code) ?? code;
}

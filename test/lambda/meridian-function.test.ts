import { checkEnvironment } from '../../lib/functions/meridian-function';

describe('MeridianFunction environment checks at synth', () => {
  test('a complete, well-named environment passes', () => {
    expect(() =>
      checkEnvironment('h', { MERIDIAN_REGION: 'eu-west-1' }, ['MERIDIAN_REGION']),
    ).not.toThrow();
  });

  test('every fault is reported in one error', () => {
    expect(() =>
      checkEnvironment(
        'h',
        { MERIDIAN_REGION: '', 'bad-name': 'x', AWS_REGION: 'x', BIG: 'x'.repeat(5000) },
        ['MERIDIAN_REGION', 'TABLE'],
      ),
    ).toThrow(
      'MeridianFunction h: MERIDIAN_REGION is required by lambda/h but is empty; TABLE is required by lambda/h but is not set; bad-name: expected UPPER_SNAKE_CASE; AWS_REGION: AWS_* names are reserved by Lambda; environment is 5038 bytes; Lambda allows 4096',
    );
  });
});

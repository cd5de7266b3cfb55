import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCsv, sumBy } from '../pipelines/csv.js';

test('parseCsv reads rows by header and refuses ragged rows', () => {
  assert.deepEqual(parseCsv('a,b\n1,2'), [{ a: '1', b: '2' }]);
  assert.throws(() => parseCsv('a,b\n1'), /expected 2/);
});

test('sumBy sums in batches', () => {
  const rows = [{ k: 'x', v: '1' }, { k: 'x', v: '2' }, { k: 'y', v: '3' }];
  assert.deepEqual(sumBy(rows, 'k', 'v', 2), { x: 3, y: 3 });
});

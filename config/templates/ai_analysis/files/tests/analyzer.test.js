import assert from 'node:assert/strict';
import { test } from 'node:test';
import { longLines, measure } from '../src/analyzer.js';

test('measure counts lines, blanks and TODOs', () => {
  assert.deepEqual(measure('a\n\n// TODO: b'), { lines: 3, blank: 1, todos: 1 });
});

test('longLines counts lines over the limit', () => {
  assert.equal(longLines(`short\n${'x'.repeat(200)}`, 120), 1);
});

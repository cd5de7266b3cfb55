/** `npm run docs:ref`: writes every generated reference page under docs/reference/ and says which changed. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { packagePath } from '../../src/config/options.js';
import { references } from './index.js';

for (const { file, text } of await references()) {
  const path = packagePath(file);
  let before = '';
  try {
    before = readFileSync(path, 'utf8');
  } catch {
    // a new page
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  console.log(`${before === text ? 'unchanged' : 'wrote    '} ${file}`);
}

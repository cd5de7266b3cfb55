// Builds the frontend into dist/public and writes dist/build.json (what a deployment would ship).
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await mkdir(`${root}dist/public`, { recursive: true });
await cp(`${root}frontend`, `${root}dist/public`, { recursive: true, filter: (src) => !src.endsWith('README.md') });
const files = await readdir(`${root}dist/public`);
await writeFile(`${root}dist/build.json`, JSON.stringify({ builtAt: new Date().toISOString(), files }, null, 2));
console.log(JSON.stringify({ built: files.length, files }));

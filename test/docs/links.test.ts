/** Every relative link in the README and docs/ reaches a file that exists and, when it names one, a heading in it. */
import { existsSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import { anchors, docFiles, readDoc, relativeLinks } from './markdown.js';

describe('documentation links', () => {
  it('finds the pages the README maps', () => {
    expect(docFiles()).toEqual(
      expect.arrayContaining([
        'README.md',
        'benchmarks/README.md',
        'docs/getting-started.md',
        'docs/workflows.md',
        'docs/operations.md',
      ]),
    );
  });

  it('gives the same anchors GitHub does', () => {
    const slugs = anchors(
      '# A title\n\n```sh\n# not a heading\n```\n\n## Performance (`npm run bench:console`)\n## Metrics, health and Grafana\n## Usage\n## Usage\n',
    );
    expect([...slugs]).toEqual([
      'a-title',
      'performance-npm-run-benchconsole',
      'metrics-health-and-grafana',
      'usage',
      'usage-1',
    ]);
  });

  it('has no relative link to a missing file or heading', () => {
    const broken: string[] = [];
    for (const file of docFiles()) {
      for (const { target, line } of relativeLinks(readDoc(file))) {
        const [path = '', anchor] = target.split('#');
        const to = path === '' ? file : normalize(join(dirname(file), decodeURI(path)));
        if (!existsSync(packagePath(to))) {
          broken.push(`${file}:${line}: ${target}: no file ${to}`);
          continue;
        }
        if (anchor !== undefined && to.endsWith('.md') && !anchors(readDoc(to)).has(anchor))
          broken.push(`${file}:${line}: ${target}: no heading #${anchor} in ${to}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import { createOrchestrationEngine } from '../../src/index.js';

const zodUrl = pathToFileURL(packagePath('node_modules', 'zod', 'index.js')).href;

describe('user action modules', () => {
  it('loads modules from configured folders into the main thread and every worker', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'codomyrmex-mods-'));
    await writeFile(
      join(dir, 'greet.mjs'),
      `import { z } from ${JSON.stringify(zodUrl)};
export default {
  name: 'greet',
  actions: {
    hello: { params: z.object({ who: z.string() }).strict(), run: ({ who }, ctx) => 'hello ' + who + ' (attempt ' + ctx.attempt + ')' },
  },
};
`,
    );
    const engine = createOrchestrationEngine({ threads: 2, moduleDirs: [dir], workflowDirs: [] });
    try {
      const r = await engine.tasks.executeTask({ module: 'greet', action: 'hello', parameters: { who: 'ants' } });
      expect(r.result).toBe('hello ants (attempt 1)');
      await expect(engine.tasks.addTask({ module: 'greet', action: 'hello', parameters: { who: 3 } })).rejects.toThrow(
        /parameters.who: Expected string, received number/,
      );
      expect(engine.registry.list().some((a) => a.module === 'greet' && a.action === 'hello')).toBe(true);
    } finally {
      await engine.shutdown();
    }
  });

  it('refuses to start with a module file that is not a module, naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'codomyrmex-badmods-'));
    await writeFile(join(dir, 'broken.mjs'), 'export default { name: "broken" };\n');
    const engine = createOrchestrationEngine({ threads: 1, moduleDirs: [dir], workflowDirs: [] });
    await expect(engine.ready()).rejects.toThrow(
      `${join(dir, 'broken.mjs')}: a module file must default-export { name, actions }`,
    );
    await engine.shutdown();
    const missing = createOrchestrationEngine({ threads: 1, moduleDirs: [join(dir, 'nope')], workflowDirs: [] });
    await expect(missing.ready()).rejects.toThrow(/moduleDirs: cannot read module folder/);
    await missing.shutdown();
  });
});

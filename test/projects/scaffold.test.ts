/**
 * Template files and scaffolding on their own: malformed templates are refused naming the file and field, the
 * original Codomyrmex layout (`<name>.json` beside `<name>/`) loads, and a failure injected half-way through
 * scaffolding leaves nothing behind, neither on disk nor in the manager.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProjectManager } from '../../src/actors/projects/manager.js';
import { InMemoryBus, ModuleRegistry, ValidationError } from '../../src/index.js';
import { loadTemplates, requireTemplate } from '../../src/projects/template.js';
import { planScaffold, writeScaffold } from '../../src/projects/scaffold.js';
import { tempDirs } from '../store/helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

async function templateDir(): Promise<string> {
  const dir = dirs.make('templates');
  // The original's layout: a JSON file, its starter files in a folder of the same name.
  await writeFile(
    join(dir, 'starter.json'),
    JSON.stringify({
      name: 'starter',
      type: 'custom',
      description: 'A small template',
      version: '1.0',
      directory_structure: ['src/', 'docs/', '.codomyrmex/'],
      template_files: { '*.txt': 'docs/', 'code/*.js': 'src/' },
      workflows: [],
      required_modules: ['core'],
      optional_modules: [],
      default_config: { greeting: 'hello' },
      documentation_config: {
        nested_docs: ['src/', 'docs/'],
        doc_links: { enabled: true, parent_link: true, child_links: true },
      },
      author: '',
      created_at: '2025-09-16T13:22:09.907080+00:00',
    }),
  );
  await mkdir(join(dir, 'starter', 'code'), { recursive: true });
  await writeFile(
    join(dir, 'starter', 'notes.txt'),
    '{{project.name}} says {{project.config.greeting}}; {{params.x}} stays\n',
  );
  for (const f of ['a', 'b', 'c', 'd'])
    await writeFile(join(dir, 'starter', 'code', `${f}.js`), `export const ${f} = 1;\n`);
  await writeFile(
    join(dir, 'broken.json'),
    JSON.stringify({ name: 'broken', workflow: ['x'], directory_structure: ['../out/'] }),
  );
  await writeFile(join(dir, 'notjson.json'), '{ "name": ');
  return dir;
}

describe('project templates', () => {
  it('loads the original layout, renders placeholders, and lists bad files with their fields', async () => {
    const dir = await templateDir();
    const catalog = await loadTemplates([dir]);
    const t = requireTemplate(catalog, 'starter');
    const plan = await planScaffold(t, {
      name: 'demo',
      description: '',
      author: '',
      template: 'starter',
      version: '1.0',
      createdAt: new Date(0).toISOString(),
      config: t.defaultConfig,
    });
    expect(plan.files.map((f) => f.path).sort()).toEqual([
      'README.md',
      'docs/README.md',
      'docs/notes.txt',
      'src/README.md',
      'src/a.js',
      'src/b.js',
      'src/c.js',
      'src/d.js',
    ]);
    expect(plan.files.find((f) => f.path === 'docs/notes.txt')?.content.toString()).toBe(
      'demo says hello; {{params.x}} stays\n',
    );
    expect(catalog.invalid.get('broken')?.errors).toEqual([
      expect.stringMatching(
        /broken\.json: unknown field\(s\) "workflow"; remove or rename them \(did you mean "workflows"\?\)/,
      ),
    ]);
    expect(catalog.invalid.get('notjson')?.errors[0]).toMatch(/notjson\.json: not valid JSON/);
    expect(() => requireTemplate(catalog, 'broken')).toThrow(/templateName: template "broken" does not load/);
  });

  it('refuses paths that climb out of the project', async () => {
    const dir = dirs.make('templates-bad');
    await writeFile(
      join(dir, 'escape.json'),
      JSON.stringify({
        name: 'escape',
        directory_structure: ['ok/', '../../etc/'],
        template_files: { 'x.txt': '/abs/' },
      }),
    );
    const bad = (await loadTemplates([dir])).invalid.get('escape')?.errors ?? [];
    expect(bad).toEqual([
      expect.stringMatching(/directory_structure\[1\]: "..\/..\/etc\/" climbs out with ".."/),
      expect.stringMatching(/template_files\["x.txt"\]: destination "\/abs\/" is absolute/),
    ]);
  });

  it('a failure half-way through scaffolding removes what was made', async () => {
    const target = join(dirs.make('scaffold'), 'half');
    const catalog = await loadTemplates([await templateDir()]);
    const t = requireTemplate(catalog, 'starter');
    const plan = await planScaffold(t, {
      name: 'half',
      description: '',
      author: '',
      template: 'starter',
      version: '1',
      createdAt: new Date(0).toISOString(),
      config: t.defaultConfig,
    });
    let writes = 0;
    await expect(
      writeScaffold(target, plan, {
        beforeWrite: () => {
          if (++writes === plan.dirs.length + 3) throw new Error('disk full (injected)');
        },
      }),
    ).rejects.toThrow(/scaffolding .*half failed at "src\/b.js": disk full \(injected\); what it had made was removed/);
    expect(writes).toBe(plan.dirs.length + 3);
    expect(existsSync(target)).toBe(false);
  });

  it('through the manager: an injected failure leaves no folder, no project, and the name free', async () => {
    const projectsDir = dirs.make('pm');
    let fail = true;
    const pm = new ProjectManager({
      bus: new InMemoryBus(),
      registry: () => new ModuleRegistry(),
      templateDirs: [await templateDir()],
      projectsDir,
      scaffoldHooks: {
        beforeWrite: (p) => {
          if (fail && p === 'src/c.js') throw new Error('EIO (injected)');
        },
      },
    });
    await expect(pm.create({ name: 'p1', templateName: 'starter' })).rejects.toThrow(/failed at "src\/c.js": EIO/);
    expect(await readdir(projectsDir)).toEqual([]);
    expect(pm.get('p1')).toBeNull();
    fail = false;
    const p = await pm.create({ name: 'p1', templateName: 'starter', config: { greeting: 'hi' } });
    expect(await readFile(join(p.path, 'docs', 'notes.txt'), 'utf8')).toMatch(/^p1 says hi/);
    expect(pm.stats().total).toBe(1);
    await expect(pm.create({ name: 'p2', templateName: 'starter', config: { greeting: 3 } })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});

/**
 * Looking at the engine: `orchestration status | health`, `modules list`, `actions`, `resources list`,
 * `sessions list`.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { EXIT } from './context.js';
import type { CliContext } from './context.js';
import { mb, ms, outputWidth, printTable } from './format.js';

/** A value for people, with the unit its key names (`…Bytes` in MB, `…Ms` in ms, `…Seconds` in s). */
export function withUnit(key: string, value: unknown): string {
  if (typeof value === 'number') {
    if (/bytes$/i.test(key) || /^(rss|heap\w*|external|memory\w*)$/i.test(key)) return mb(value);
    if (/Ms$/.test(key)) return ms(value);
    if (/Seconds$/.test(key)) return ms(value * 1000);
    if (key === 'utilization') return `${Math.round(value * 100)}%`;
    return String(value);
  }
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map((v) => withUnit(key, v)).join('; ');
  if (typeof value === 'object' && (value as { unit?: unknown }).unit === 'bytes') {
    const { unit: _unit, capacity, allocated, ...rest } = value as Record<string, unknown>;
    return `${withUnit(key, rest)}, ${mb(allocated as number)} of ${mb(capacity as number)}`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return '-';
    return entries
      .map(([k, v]) => `${k} ${typeof v === 'object' && v !== null ? `{${withUnit(k, v)}}` : withUnit(k, v)}`)
      .join(', ');
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** `text` in lines of at most `width` characters, broken after ", " where it can be (a longer piece stands alone). */
export function wrapAtCommas(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const piece of text.split(/(?<=, )/)) {
    if (line !== '' && line.length + piece.trimEnd().length > width) {
      lines.push(line.trimEnd());
      line = '  ';
    }
    line += piece;
  }
  lines.push(line.trimEnd());
  return lines;
}

function amount(n: number, unit: string): string {
  if (unit === 'bytes') return mb(n);
  return `${n} ${unit === 'mb' || unit === 'gb' ? unit.toUpperCase() : unit}`;
}

export function registerInspectCommands(program: Command, cli: CliContext): void {
  const orchestration = program.command('orchestration').description('engine status and health');
  orchestration
    .command('status')
    .description('uptime, tasks by status, queue, pool, workflows, sessions, resources, store')
    .action(async () => {
      const status = await cli.withAnyEngine((e) => e.getSystemStatus());
      cli.out(status, (s) => {
        const rows = Object.entries(s)
          .filter(([k]) => !['timestamp', 'engineId'].includes(k))
          .map(([k, v]) => ({ part: k, state: withUnit(k, v) }));
        // Long states wrap at their commas onto lines of their own: nothing is cut at any width.
        const partWidth = Math.max(4, ...rows.map((r) => r.part.length));
        const room = Math.max(30, outputWidth() - partWidth - 2);
        printTable(
          rows.flatMap((r) =>
            wrapAtCommas(r.state, room).map((line, i) => ({ part: i === 0 ? r.part : '', state: line })),
          ),
        );
      });
    });
  orchestration
    .command('health')
    .description(
      'checks every component for real (a probe task, a store write, the bus, the queue); exit 1 unless healthy',
    )
    .action(async () => {
      const health = await cli.withAnyEngine((e) => e.healthCheck());
      cli.out(health, (h) => {
        console.log(`overall: ${h.overallStatus}`);
        printTable(
          Object.entries(h.components).map(([name, c]) => ({
            component: name,
            status: c.status,
            detail: c.detail ?? '',
          })),
        );
        for (const issue of h.issues) console.log(`issue: ${issue}`);
      });
      process.exitCode = health.overallStatus === 'healthy' ? EXIT.ok : EXIT.runFailed;
    });

  // Listing actions needs no state: no database is opened.
  const memory = { store: 'memory' } as const;
  program
    .command('actions')
    .description('list the module.action names this engine can run')
    .action(async () => {
      const list = (await cli.withAnyEngine((e) => e.listModules(), memory)).map(({ module, action, description }) => ({
        module,
        action,
        description,
      }));
      cli.out(list, (l) =>
        printTable(l.map((a) => ({ action: `${a.module}.${a.action}`, description: a.description }))),
      );
    });

  const modules = program.command('modules').description('the action modules');
  modules
    .command('list')
    .description("every module.action with its parameters (JSON Schema with --json); with --nats, the daemon's")
    .argument('[module]', 'only this module')
    .action(async (moduleName?: string) => {
      const list = await cli.withAnyEngine((e) => e.listModules(moduleName), memory);
      cli.out(list, (l) =>
        printTable(
          l.map((a) => {
            const props = (a.params['properties'] ?? {}) as Record<string, { type?: string | string[] }>;
            const req = new Set((a.params['required'] ?? []) as string[]);
            const params = Object.entries(props).map(
              ([k, p]) =>
                `${k}${req.has(k) ? '' : '?'}${p.type ? `: ${Array.isArray(p.type) ? p.type.join('|') : p.type}` : ''}`,
            );
            return { action: `${a.module}.${a.action}`, parameters: params.join(', '), description: a.description };
          }),
        ),
      );
    });

  program
    .command('resources')
    .description('shared resources')
    .command('list')
    .description('every resource with its capacity, what is allocated and who holds it')
    .action(async () => {
      const list = await cli.withAnyEngine((e) => e.resources.listResources());
      cli.out(list, (l) =>
        printTable(
          l.map((r) => ({
            resource: r.id,
            type: r.type,
            capacity: amount(r.capacity, r.unit),
            allocated: amount(r.allocated, r.unit),
            used: `${Math.round(r.utilization * 100)}%`,
            holders: r.holders.map((h) => `${h.holderId}:${h.amount}`).join(', '),
          })),
        ),
      );
    });

  program
    .command('sessions')
    .description('execution sessions')
    .command('list')
    .description('sessions with their user, mode and limits')
    .addOption(new Option('--status <status>', 'only active or closed ones').choices(['active', 'closed']))
    .action(async (opts: { status?: 'active' | 'closed' }) => {
      const list = await cli.withAnyEngine((e) => e.listSessions(opts.status));
      cli.out(list, (l) =>
        printTable(
          l.map((s) => ({
            session: s.sessionId,
            user: s.userId,
            mode: s.mode,
            tasks: s.maxParallelTasks,
            status: s.status,
            created: new Date(s.createdAt).toISOString().replace('T', ' ').slice(0, 19),
          })),
        ),
      );
    });
}

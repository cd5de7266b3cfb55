/**
 * The console: a navigation bar, the page for the current URL, the confirmation dialog, and the login form shown
 * when the daemon asks for a token (stored in this browser's localStorage, sent as `Authorization: Bearer`).
 */
import { render } from './vendor/preact.js';
import type { VNode } from './vendor/preact.js';
import { useEffect, useState } from './vendor/hooks.js';
import { getToken, onAuthNeeded, setToken } from './api.js';
import { DialogHost, Link, html, useCommands, useRoute } from './ui.js';
import { SchedulesPage } from './pages/schedules.js';
import { TasksPage, WorkersPage, ResourcesPage, SessionsPage } from './pages/lists.js';
import { RunPage } from './pages/run.js';
import { RunsPage } from './pages/runs.js';
import { WorkflowPage, WorkflowsPage } from './pages/workflows.js';

const NAV: [string, string][] = [
  ['/runs', 'Runs'],
  ['/workflows', 'Workflows'],
  ['/tasks', 'Tasks'],
  ['/workers', 'Workers'],
  ['/resources', 'Resources'],
  ['/sessions', 'Sessions'],
];

function Login(props: { onDone: () => void }): VNode {
  const [value, setValue] = useState('');
  const submit = (e: Event): void => {
    e.preventDefault();
    setToken(value.trim() || null);
    props.onDone();
  };
  return html`<section class="login">
    <h2>Sign in</h2>
    <p>This daemon needs its token (the <code>--auth-token</code> it was started with). It is kept in this browser only.</p>
    <form onSubmit=${submit}>
      <input type="password" name="token" autocomplete="current-password" value=${value} onInput=${(e: Event) => setValue((e.target as HTMLInputElement).value)} placeholder="token" />
      <button class="primary" type="submit">Sign in</button>
    </form>
  </section>`;
}

function Page(): VNode {
  const { path } = useRoute();
  const run = /^\/runs\/([^/]+)\/?$/.exec(path);
  if (run) return html`<${RunPage} runId=${decodeURIComponent(run[1]!)} />`;
  const wf = /^\/workflows\/([^/]+)\/?$/.exec(path);
  if (wf) return html`<${WorkflowPage} name=${decodeURIComponent(wf[1]!)} />`;
  switch (path.replace(/\/$/, '')) {
    case '':
    case '/runs':
      return html`<${RunsPage} />`;
    case '/workflows':
      return html`<${WorkflowsPage} />`;
    case '/tasks':
      return html`<${TasksPage} />`;
    case '/workers':
      return html`<${WorkersPage} />`;
    case '/resources':
      return html`<${ResourcesPage} />`;
    case '/sessions':
      return html`<${SessionsPage} />`;
    case '/schedules':
      return html`<${SchedulesPage} />`;
    default:
      return html`<section class="not-found"><h2>No such page</h2><p><${Link} href="/runs">← Back to runs</${Link}></p></section>`;
  }
}

function App(): VNode {
  const { path } = useRoute();
  const [needLogin, setNeedLogin] = useState(false);
  const [epoch, setEpoch] = useState(0);
  const commands = useCommands();
  useEffect(() => onAuthNeeded(() => setNeedLogin(true)), []);
  const nav = commands.has('schedule.list')
    ? [...NAV.slice(0, 2), ['/schedules', 'Schedules'] as [string, string], ...NAV.slice(2)]
    : NAV;
  return html`<div class="shell">
    <nav class="top">
      <span class="brand">codomyrmex</span>
      ${nav.map(([href, label]) => html`<${Link} href=${href} class=${path.startsWith(href) || (href === '/runs' && path === '/') ? 'active' : ''}>${label}</${Link}>`)}
      ${getToken() ? html`<button class="link" onClick=${() => (setToken(null), setNeedLogin(true))}>Sign out</button>` : null}
    </nav>
    <main key=${epoch}>
      ${needLogin ? html`<${Login} onDone=${() => (setNeedLogin(false), setEpoch((e) => e + 1))} />` : html`<${Page} />`}
    </main>
    <${DialogHost} />
  </div>`;
}

render(html`<${App} />`, document.getElementById('app')!);

/**
 * Shared pieces of the console: `html` (htm bound to Preact: every value it places is text or an attribute, never
 * markup, so nothing a run holds is ever parsed as HTML), the router (history API: links are shareable, back
 * works), formatting, and the confirmation dialog every action goes through.
 */
import { h } from './vendor/preact.js';
import type { ComponentChildren, VNode } from './vendor/preact.js';
import { useEffect, useState } from './vendor/hooks.js';
import htm from './vendor/htm.js';
import { get } from './api.js';

export const html = htm.bind(h) as (strings: TemplateStringsArray, ...values: unknown[]) => VNode;

const routeListeners = new Set<() => void>();

/** Goes to a console URL without reloading (and records it for the back button). */
export function navigate(path: string): void {
  if (path === location.pathname + location.search) return;
  history.pushState(null, '', path);
  for (const fn of routeListeners) fn();
}

window.addEventListener('popstate', () => {
  for (const fn of routeListeners) fn();
});

/** The current path and query, re-rendering on navigation. */
export function useRoute(): { path: string; query: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const fn = (): void => setTick((t) => t + 1);
    routeListeners.add(fn);
    return () => void routeListeners.delete(fn);
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

/** An in-console link: a real `<a href>` (open in a new tab works) that navigates without a reload. */
export function Link(props: { href: string; children?: ComponentChildren; class?: string }): VNode {
  const onClick = (e: MouseEvent): void => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault();
    navigate(props.href);
  };
  return html`<a href=${props.href} class=${props.class} onClick=${onClick}>${props.children}</a>`;
}

/** A run's or task's trace as the API gives it: its id, and a link to the trace UI when one is configured. */
export interface TraceRef {
  traceId: string;
  url: string | null;
}

/**
 * A trace id, linked to the configured trace UI (`tracing.linkTemplate`) in a new tab. Only an http(s) URL becomes
 * a link (the server checks the template too); the id is text either way.
 */
export function TraceLink(props: { trace: TraceRef; testid: string }): VNode {
  const { traceId, url } = props.trace;
  if (url !== null && /^https?:\/\//i.test(url))
    return html`<a class="mono" href=${url} target="_blank" rel="noopener noreferrer" data-testid=${props.testid}>${traceId}</a>`;
  return html`<span class="mono" data-testid=${props.testid}>${traceId}</span>`;
}

export function StatusBadge(props: { status: string }): VNode {
  return html`<span class=${`badge s-${props.status}`}>${props.status.replace('_', ' ')}</span>`;
}

export function fmtTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  const d = new Date(ms);
  return `${d.toLocaleDateString()} ${d.toLocaleTimeString()}`;
}

export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} m ${Math.round((ms % 60_000) / 1000)} s`;
}

export function Json(props: { value: unknown }): VNode {
  return html`<pre class="json">${JSON.stringify(props.value, null, 2) ?? 'undefined'}</pre>`;
}

/** Loads with `load()` now and whenever `deps` change; `reload` loads again. */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
): { value: T | null; error: Error | null; reload: () => void } {
  const [state, setState] = useState<{ value: T | null; error: Error | null }>({ value: null, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (value) => live && setState({ value, error: null }),
      (error: unknown) =>
        live && setState({ value: null, error: error instanceof Error ? error : new Error(String(error)) }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export function ErrorBox(props: { error: Error }): VNode {
  return html`<div class="error" role="alert">${props.error.message}</div>`;
}

/** What the confirmation dialog asks and does. */
export interface Confirmation {
  title: string;
  body?: ComponentChildren;
  confirmLabel: string;
  /** Runs when confirmed; its value (or error) is shown as the result. */
  run: () => Promise<unknown>;
  /** Called with the value after a success (e.g. navigate to the new run). */
  done?: (value: unknown) => void;
  /** Close the dialog after a success instead of showing the result (when `done` shows it, e.g. the new run). */
  closeOnDone?: boolean;
}

let openDialog: ((c: Confirmation | null) => void) | null = null;

/** Asks for confirmation, runs the action, and shows its result. */
export function confirmAction(c: Confirmation): void {
  openDialog?.(c);
}

/** The dialog host, rendered once by the app. */
export function DialogHost(): VNode | null {
  const [c, setC] = useState<Confirmation | null>(null);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    openDialog = (next) => {
      setC(next);
      setResult(null);
      setBusy(false);
    };
    return () => {
      openDialog = null;
    };
  }, []);
  if (!c) return null;
  const confirm = (): void => {
    setBusy(true);
    c.run().then(
      (value) => {
        setBusy(false);
        if (c.closeOnDone) setC(null);
        else setResult({ ok: true, text: JSON.stringify(value, null, 2) ?? 'done' });
        c.done?.(value);
      },
      (err: unknown) => {
        setResult({ ok: false, text: err instanceof Error ? err.message : String(err) });
        setBusy(false);
      },
    );
  };
  return html`<div class="overlay">
    <div class="dialog" role="dialog" aria-modal="true" aria-label=${c.title}>
      <h3>${c.title}</h3>
      ${c.body}
      ${
        result
          ? html`<div class=${result.ok ? 'result ok' : 'result error'} data-testid="action-result"><strong>${result.ok ? 'Done' : 'Failed'}</strong><pre>${result.text}</pre></div>
            <div class="buttons"><button onClick=${() => setC(null)}>Close</button></div>`
          : html`<div class="buttons">
            <button onClick=${() => setC(null)} disabled=${busy}>Cancel</button>
            <button class="primary" onClick=${confirm} disabled=${busy} data-testid="confirm">${c.confirmLabel}</button>
          </div>`
      }
    </div>
  </div>`;
}

let commandsPromise: Promise<Set<string>> | null = null;

/**
 * The commands this daemon serves (`GET /api/v1/commands`), so that a page offers only the actions the daemon
 * has (signals, re-runs from a step, schedules arrive with newer versions).
 */
export function useCommands(): Set<string> {
  const [commands, setCommands] = useState<Set<string>>(new Set());
  useEffect(() => {
    commandsPromise ??= get<string[]>('commands').then(
      (list) => new Set(list),
      () => {
        commandsPromise = null;
        return new Set<string>();
      },
    );
    let live = true;
    void commandsPromise.then((c) => live && setCommands(c));
    return () => {
      live = false;
    };
  }, []);
  return commands;
}

import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { executionBadge, type Badge } from './format.js';
import { NightshiftApiError, type Task } from '../../src/client/client.js';
import { errorText } from './session.js';

/** A link handled by the app's router (no reload), still a real href for keyboard and new tabs. */
export function Link(props: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a
      href={props.href}
      class={props.class}
      onClick={(event) => {
        if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
        event.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

export function navigate(href: string): void {
  window.history.pushState(null, '', href);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export function BadgeView({ badge }: { badge: Badge }) {
  return (
    <span class={`badge badge-${badge.tone}`}>
      <span aria-hidden="true">{badge.icon}</span> {badge.label}
    </span>
  );
}

export const TaskBadge = ({ task }: { task: Pick<Task, 'status' | 'execution_location' | 'blocked_reason'> }) => <BadgeView badge={executionBadge(task)} />;

/** A labelled bar: the words carry the numbers, the bar is a picture of them. */
export function Bar(props: { label: string; share: number; text: string; warn?: boolean }) {
  const percent = Math.round(props.share * 100);
  return (
    <div class="bar-block">
      <div class="bar-label">
        <span>{props.label}</span> <span>{props.text}</span>
      </div>
      <div class={`bar${props.warn ? ' bar-warn' : ''}`} role="progressbar" aria-label={props.label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} aria-valuetext={props.text}>
        <div class="bar-fill" style={{ width: `${percent}%` }} />
      </div>
    </div>
  );
}

export function Banner(props: { kind: 'warning' | 'error' | 'info' | 'success'; children: ComponentChildren }) {
  const icon = { warning: '⚠️', error: '⛔', info: 'ℹ️', success: '✅' }[props.kind];
  return (
    <div class={`banner banner-${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      <span aria-hidden="true">{icon}</span> {props.children}
    </div>
  );
}

export const ErrorBanner = ({ error }: { error: unknown }) =>
  error ? (
    <Banner kind="error">
      {errorText(error)}
      {error instanceof NightshiftApiError && error.status === 401 ? ' Your sign-in is not valid (any more): sign out and sign in again.' : ''}
    </Banner>
  ) : null;

/**
 * Asks before a destructive action. The question takes focus when it opens, so keyboard and
 * screen-reader users land on it; Escape keeps things as they are.
 */
export function Confirm(props: { question: string; yes: string; no: string; onYes: () => void | Promise<void>; onNo: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => ref.current?.focus(), []);
  return (
    <div
      class="confirm"
      role="alertdialog"
      aria-label={props.question}
      tabIndex={-1}
      ref={ref}
      onKeyDown={(event) => {
        if (event.key === 'Escape') props.onNo();
      }}
    >
      <p>{props.question}</p>
      <button
        class="danger"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await props.onYes();
          } finally {
            setBusy(false);
          }
        }}
      >
        {props.yes}
      </button>{' '}
      <button onClick={props.onNo}>{props.no}</button>
    </div>
  );
}

/** Runs `load` now and every `ms` while mounted (and when `key` changes); the page never reloads. */
export function usePolling<T>(load: () => Promise<T>, ms: number | null, key: unknown[] = []): { data: T | undefined; error: unknown; refresh: () => Promise<void> } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  const refresh = async () => {
    try {
      setData(await loadRef.current());
      setError(null);
    } catch (caught) {
      setError(caught);
    }
  };
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      await refresh();
      if (alive && ms !== null) timer = setTimeout(() => void tick(), ms);
    };
    void tick();
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
  }, [ms, ...key]);
  return { data, error, refresh };
}

/** The clock, ticking once a second, for elapsed times. */
export function useNow(ms = 1000): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

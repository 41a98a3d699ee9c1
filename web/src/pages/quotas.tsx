import { useState } from 'preact/hooks';
import type { Schemas } from '../../../src/client/client.js';
import { Banner, Bar, BadgeView, ErrorBanner, usePolling } from '../components.js';
import { credits, dateTime, usedShare, WEEKLY_WARNING_SHARE } from '../format.js';
import { callApi, errorText } from '../session.js';
import { useSession, type Session } from '../app.js';

type SpaceQuota = Schemas['SpaceQuota'];

/** An override request (issue 15a's contract); not in the generated client types until that lands. */
export interface OverrideRequest {
  request_id: string;
  space_id: string;
  user_id: string;
  credits: number;
  reason: string;
  status: 'pending' | 'granted' | 'declined';
  created_at: string;
  decided_at: string | null;
  decided_by: string | null;
  decision_reason: string | null;
}

export const listSpaceOverrideRequests = (session: Session, spaceId: string) =>
  callApi<{ override_requests: OverrideRequest[]; next_cursor: string | null }>(session.config, session.credential, 'GET', `/api/v1/spaces/${encodeURIComponent(spaceId)}/override-requests`);

const weeklyShare = (q: SpaceQuota) => usedShare(q.weekly.used, q.weekly.limit);

/** The 80 % warning and the hard-limit notice for each space that needs one. */
export function quotaBanners(quotas: SpaceQuota[]) {
  return quotas.map((q) =>
    q.status === 'BLOCKED' ? (
      <Banner kind="error" key={`b-${q.space_id}`}>
        Space {q.space_id} reached its monthly hard limit: new cloud work waits, blocked. {q.message}
      </Banner>
    ) : q.status === 'WARNING' || weeklyShare(q) >= WEEKLY_WARNING_SHARE ? (
      <Banner kind="warning" key={`w-${q.space_id}`}>
        Space {q.space_id} used {Math.round(weeklyShare(q) * 100)} % of its weekly soft limit. Tasks still run. {q.message}
      </Banner>
    ) : null,
  );
}

const remainingText = (what: string, window: { remaining: number | null; limit: number | null; used: number }) =>
  window.limit === null ? `${what} credits: no limit (${window.used} used)` : `${what} credits ${window.remaining ?? 0}/${window.limit} remaining`;

const STORAGE_KEY = 'nightshift.spaces';
const rememberedSpaces = (): string[] => {
  try {
    return (JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]') as unknown[]).filter((s): s is string => typeof s === 'string');
  } catch {
    return [];
  }
};

function RequestOverride({ spaceId }: { spaceId: string }) {
  const session = useSession();
  const [amount, setAmount] = useState('10');
  const [reason, setReason] = useState('');
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  const requests = usePolling(() => listSpaceOverrideRequests(session, spaceId).catch(() => null), 5000, [spaceId]);
  return (
    <div class="override-request">
      <form
        aria-label={`Request an override for ${spaceId}`}
        onSubmit={(event) => {
          event.preventDefault();
          setMessage(null);
          const value = Number(amount);
          if (!(value > 0)) return setMessage({ kind: 'error', text: 'Credits must be a number above 0.' });
          if (!reason.trim()) return setMessage({ kind: 'error', text: 'Say why you need the credits.' });
          callApi<OverrideRequest>(session.config, session.credential, 'POST', `/api/v1/spaces/${encodeURIComponent(spaceId)}/override-requests`, { credits: value, reason: reason.trim() }).then(
            (created) => {
              setReason('');
              setMessage({ kind: 'success', text: `Override request sent: ${credits(created.credits)} for ${spaceId}, waiting for an admin.` });
              void requests.refresh();
            },
            (e: unknown) => setMessage({ kind: 'error', text: errorText(e) }),
          );
        }}
      >
        <h4>Request an override</h4>
        <label for={`credits-${spaceId}`}>Extra credits</label>
        <input id={`credits-${spaceId}`} type="number" min="0.01" step="any" value={amount} onInput={(e) => setAmount(e.currentTarget.value)} />
        <label for={`reason-${spaceId}`}>Reason</label>
        <textarea id={`reason-${spaceId}`} maxLength={1000} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        <button type="submit">Request an override</button>
      </form>
      {message && <Banner kind={message.kind}>{message.text}</Banner>}
      {requests.data && requests.data.override_requests.length > 0 && (
        <>
          <h4>Your requests</h4>
          <ul>
            {requests.data.override_requests.map((r) => (
              <li key={r.request_id}>
                {credits(r.credits)} — {r.reason} — <strong>{r.status}</strong>
                {r.decision_reason ? ` (${r.decision_reason})` : ''} · {dateTime(r.created_at)}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

function SpaceQuotaCard({ quota, focus }: { quota: SpaceQuota; focus: boolean }) {
  const weeklyWarn = quota.status === 'WARNING' || weeklyShare(quota) >= WEEKLY_WARNING_SHARE;
  return (
    <li class="card" aria-label={`Space ${quota.space_id}`}>
      <div class="card-head">
        <h3>{quota.space_id}</h3>
        {quota.status === 'BLOCKED' ? (
          <BadgeView badge={{ icon: '🚫', label: 'Blocked (over quota)', tone: 'red' }} />
        ) : weeklyWarn ? (
          <BadgeView badge={{ icon: '⚠️', label: 'Near the weekly limit', tone: 'amber' }} />
        ) : (
          <BadgeView badge={{ icon: '✅', label: 'Within quota', tone: 'done' }} />
        )}
      </div>
      {quota.inherited && <p>Uses the quota of {quota.quota_space_id}.</p>}
      <Bar label={`Weekly credits for ${quota.space_id}`} share={weeklyShare(quota)} warn={weeklyWarn} text={`${remainingText('Weekly', quota.weekly)} · resets ${dateTime(quota.weekly.resets_at)}`} />
      <Bar
        label={`Monthly credits for ${quota.space_id}`}
        share={usedShare(quota.monthly.used, quota.monthly.limit)}
        warn={quota.status === 'BLOCKED'}
        text={`${remainingText('Monthly', quota.monthly)}${quota.monthly.override_credits ? ` (incl. ${credits(quota.monthly.override_credits)} override)` : ''} · resets ${dateTime(quota.monthly.resets_at)}`}
      />
      <p>{quota.message}</p>
      {(quota.status === 'BLOCKED' || focus) && <RequestOverride spaceId={quota.space_id} />}
    </li>
  );
}

export function QuotasPage({ focusSpace }: { focusSpace?: string }) {
  const { client, userId } = useSession();
  const [extra, setExtra] = useState<string[]>(rememberedSpaces);
  const [adding, setAdding] = useState('');
  const { data, error } = usePolling(async () => {
    const page = await client.listTasks({ limit: 100 });
    const ids = [...new Set([...(userId ? [`personal:${userId}`] : []), ...page.items.map((t) => t.space_id), ...extra, ...(focusSpace ? [focusSpace] : [])])];
    const answers = await Promise.all(ids.map((id) => client.spaceQuota(id).then((q) => q, (e: unknown) => ({ id, error: errorText(e) }))));
    return answers;
  }, 3000, [extra.join(','), focusSpace]);

  const quotas = (data ?? []).filter((a): a is SpaceQuota => 'space_id' in a);
  const failures = (data ?? []).filter((a): a is { id: string; error: string } => 'error' in a);
  return (
    <>
      <h1>Quotas</h1>
      <ErrorBanner error={error} />
      {quotaBanners(quotas)}
      <ul class="cards">
        {quotas.map((q) => (
          <SpaceQuotaCard key={q.space_id} quota={q} focus={q.space_id === focusSpace} />
        ))}
      </ul>
      {failures.map((f) => (
        <Banner kind="error" key={f.id}>
          {f.id}: {f.error}
        </Banner>
      ))}
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          const id = adding.trim();
          if (!id) return;
          const next = [...new Set([...extra, id])];
          localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
          setExtra(next);
          setAdding('');
        }}
      >
        <label for="add-space">Show another space</label>
        <input id="add-space" value={adding} onInput={(e) => setAdding(e.currentTarget.value)} placeholder="marketing" />
        <button type="submit">Show space</button>
      </form>
    </>
  );
}

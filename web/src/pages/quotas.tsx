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

function SpaceQuotaCard({ quota, name, focus }: { quota: SpaceQuota; name: string | undefined; focus: boolean }) {
  const weeklyWarn = quota.status === 'WARNING' || weeklyShare(quota) >= WEEKLY_WARNING_SHARE;
  return (
    <li class="card" aria-label={`Space ${quota.space_id}`}>
      <div class="card-head">
        <h3>{name && name !== quota.space_id ? `${name} (${quota.space_id})` : quota.space_id}</h3>
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

/** The spaces to show: the personal one, every space the user owns or is a member of, and one asked for by link. */
async function spacesToShow(client: Session['client'], userId: string | null, focusSpace: string | undefined): Promise<{ ids: string[]; names: Map<string, string> }> {
  const names = new Map<string, string>();
  for await (const space of client.allSpaces({ limit: 100 })) names.set(space.id, space.name);
  const ids = [...new Set([...(userId ? [`personal:${userId}`] : []), ...names.keys(), ...(focusSpace ? [focusSpace] : [])])];
  return { ids, names };
}

export function QuotasPage({ focusSpace }: { focusSpace?: string }) {
  const { client, userId } = useSession();
  const { data, error } = usePolling(async () => {
    const { ids, names } = await spacesToShow(client, userId, focusSpace);
    const answers = await Promise.all(ids.map((id) => client.spaceQuota(id).then((q) => q, (e: unknown) => ({ id, error: errorText(e) }))));
    return { answers, names };
  }, 3000, [focusSpace]);

  const quotas = (data?.answers ?? []).filter((a): a is SpaceQuota => 'space_id' in a);
  const failures = (data?.answers ?? []).filter((a): a is { id: string; error: string } => 'error' in a);
  return (
    <>
      <h1>Quotas</h1>
      <ErrorBanner error={error} />
      {quotaBanners(quotas)}
      <p>Your personal space and every space you own or are a member of.</p>
      <ul class="cards">
        {quotas.map((q) => (
          <SpaceQuotaCard key={q.space_id} quota={q} name={data?.names.get(q.space_id)} focus={q.space_id === focusSpace} />
        ))}
      </ul>
      {failures.map((f) => (
        <Banner kind="error" key={f.id}>
          {f.id}: {f.error}
        </Banner>
      ))}
    </>
  );
}

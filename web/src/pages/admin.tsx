import { useState } from 'preact/hooks';
import type { Schemas } from '../../../src/client/client.js';
import { Banner, ErrorBanner, usePolling } from '../components.js';
import { credits, dateTime } from '../format.js';
import { callApi, errorText } from '../session.js';
import { useSession, type Session } from '../app.js';
import type { OverrideRequest } from './quotas.js';

type Message = { kind: 'success' | 'error'; text: string } | null;
const PLANS = ['free', 'pro', 'team', 'enterprise'] as const;
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

const api = <T,>(session: Session, method: string, path: string, body?: unknown) => callApi<T>(session.config, session.credential, method, path, body);
const seg = encodeURIComponent;

function PlanForm() {
  const session = useSession();
  const [user, setUser] = useState('');
  const [plan, setPlan] = useState<(typeof PLANS)[number]>('pro');
  const [message, setMessage] = useState<Message>(null);
  return (
    <form
      aria-labelledby="plan-heading"
      onSubmit={(event) => {
        event.preventDefault();
        api<Schemas['UserLimits']>(session, 'PUT', `/api/v1/admin/users/${seg(user.trim())}/plan`, { plan }).then(
          (l) => setMessage({ kind: 'success', text: `${l.user_id} is now on ${l.plan}.` }),
          (e: unknown) => setMessage({ kind: 'error', text: errorText(e) }),
        );
      }}
    >
      <h2 id="plan-heading">Change a user's plan</h2>
      <label for="plan-user">User id</label>
      <input id="plan-user" required value={user} onInput={(e) => setUser(e.currentTarget.value)} />
      <label for="plan-plan">Plan</label>
      <select id="plan-plan" value={plan} onChange={(e) => setPlan(e.currentTarget.value as (typeof PLANS)[number])}>
        {PLANS.map((p) => (
          <option key={p} value={p}>
            {p}
          </option>
        ))}
      </select>
      <button type="submit">Change plan</button>
      {message && <Banner kind={message.kind}>{message.text}</Banner>}
    </form>
  );
}

const LIMIT_FIELDS = [
  ['max_concurrent_agents', 'Agents at once'],
  ['max_task_duration_minutes', 'Longest task (minutes)'],
  ['monthly_agent_hours_limit', 'Monthly agent hours'],
  ['max_pending_tasks', 'Queued tasks at most'],
] as const;

function LimitsForm() {
  const session = useSession();
  const [user, setUser] = useState('');
  const [values, setValues] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<Message>(null);
  return (
    <form
      aria-labelledby="limits-heading"
      onSubmit={(event) => {
        event.preventDefault();
        const body: Record<string, number> = {};
        for (const [field] of LIMIT_FIELDS) if (values[field]?.trim()) body[field] = Number(values[field]);
        if (Object.keys(body).length === 0) return setMessage({ kind: 'error', text: 'Fill in at least one limit.' });
        api<Schemas['UserLimits']>(session, 'PUT', `/api/v1/admin/users/${seg(user.trim())}/limits`, body).then(
          (l) => setMessage({ kind: 'success', text: `${l.user_id}: ${l.max_concurrent_agents} at once, ${l.max_task_duration_minutes} min tasks, ${l.monthly_agent_hours_limit ?? 'unlimited'} h a month.` }),
          (e: unknown) => setMessage({ kind: 'error', text: errorText(e) }),
        );
      }}
    >
      <h2 id="limits-heading">Per-user limits</h2>
      <label for="limits-user">User id</label>
      <input id="limits-user" required value={user} onInput={(e) => setUser(e.currentTarget.value)} />
      {LIMIT_FIELDS.map(([field, label]) => (
        <div key={field}>
          <label for={`limit-${field}`}>{label}</label>
          <input id={`limit-${field}`} type="number" min="0" step="any" value={values[field] ?? ''} onInput={(e) => setValues({ ...values, [field]: e.currentTarget.value })} />
        </div>
      ))}
      <button type="submit">Save limits</button>
      {message && <Banner kind={message.kind}>{message.text}</Banner>}
    </form>
  );
}

function GrantOverride() {
  const session = useSession();
  const [space, setSpace] = useState('');
  const [amount, setAmount] = useState('10');
  const [reason, setReason] = useState('');
  const [days, setDays] = useState('7');
  const [message, setMessage] = useState<Message>(null);
  return (
    <form
      aria-labelledby="grant-heading"
      onSubmit={(event) => {
        event.preventDefault();
        api<Schemas['Override']>(session, 'POST', `/api/v1/admin/spaces/${seg(space.trim())}/overrides`, { credits: Number(amount), reason: reason.trim(), expires_at: inDays(Number(days) || 7) }).then(
          (o) => setMessage({ kind: 'success', text: `Granted ${credits(o.credits)} to ${o.space_id} until ${dateTime(o.expires_at)}.` }),
          (e: unknown) => setMessage({ kind: 'error', text: errorText(e) }),
        );
      }}
    >
      <h2 id="grant-heading">Grant an override</h2>
      <label for="grant-space">Space id</label>
      <input id="grant-space" required value={space} onInput={(e) => setSpace(e.currentTarget.value)} />
      <label for="grant-credits">Credits</label>
      <input id="grant-credits" type="number" min="0" step="any" required value={amount} onInput={(e) => setAmount(e.currentTarget.value)} />
      <label for="grant-reason">Reason</label>
      <input id="grant-reason" required maxLength={1000} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      <label for="grant-days">Expires in (days)</label>
      <input id="grant-days" type="number" min="1" max="365" value={days} onInput={(e) => setDays(e.currentTarget.value)} />
      <button type="submit">Grant override</button>
      {message && <Banner kind={message.kind}>{message.text}</Banner>}
    </form>
  );
}

function OverrideRequests() {
  const session = useSession();
  const [status, setStatus] = useState<'pending' | 'granted' | 'declined' | ''>('pending');
  const [message, setMessage] = useState<Message>(null);
  const requests = usePolling(
    () => api<{ override_requests: OverrideRequest[]; next_cursor: string | null }>(session, 'GET', `/api/v1/admin/override-requests?limit=50${status ? `&status=${status}` : ''}`),
    3000,
    [status],
  );
  const decide = async (r: OverrideRequest, grant: boolean) => {
    setMessage(null);
    try {
      if (grant) {
        await api(session, 'POST', `/api/v1/admin/spaces/${seg(r.space_id)}/overrides`, { credits: r.credits, reason: r.reason, expires_at: inDays(7), request_id: r.request_id });
        setMessage({ kind: 'success', text: `Granted ${credits(r.credits)} to ${r.space_id} for ${r.user_id}.` });
      } else {
        await api(session, 'POST', `/api/v1/admin/override-requests/${seg(r.request_id)}/decline`, {});
        setMessage({ kind: 'success', text: `Declined the request of ${r.user_id} for ${r.space_id}.` });
      }
      await requests.refresh();
    } catch (e) {
      setMessage({ kind: 'error', text: errorText(e) });
    }
  };
  return (
    <section aria-labelledby="requests-heading">
      <h2 id="requests-heading">Override requests</h2>
      <label for="requests-status">Show</label>
      <select id="requests-status" value={status} onChange={(e) => setStatus(e.currentTarget.value as typeof status)}>
        <option value="pending">Pending</option>
        <option value="granted">Granted</option>
        <option value="declined">Declined</option>
        <option value="">All</option>
      </select>
      {message && <Banner kind={message.kind}>{message.text}</Banner>}
      <ErrorBanner error={requests.error} />
      {requests.data && requests.data.override_requests.length === 0 && <p>No {status || ''} requests.</p>}
      <ul class="rows">
        {requests.data?.override_requests.map((r) => (
          <li key={r.request_id} aria-label={`Request from ${r.user_id} for ${r.space_id}`}>
            <strong>{r.user_id}</strong> asks {credits(r.credits)} for <strong>{r.space_id}</strong>: “{r.reason}” · {dateTime(r.created_at)} · {r.status}
            {r.status === 'pending' && (
              <>
                {' '}
                <button class="primary" onClick={() => void decide(r, true)}>
                  Grant
                </button>{' '}
                <button onClick={() => void decide(r, false)}>Decline</button>
              </>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Ledger() {
  const session = useSession();
  const [space, setSpace] = useState('');
  const [shown, setShown] = useState<string | null>(null);
  const ledger = usePolling(() => (shown ? session.client.api.GET('/api/v1/spaces/{id}/ledger', { params: { path: { id: shown }, query: { limit: 100 } } }) : Promise.resolve(null)), null, [shown]);
  const body = ledger.data?.data;
  const failed = ledger.data && !ledger.data.response.ok;
  return (
    <section aria-labelledby="ledger-heading">
      <h2 id="ledger-heading">Space ledger</h2>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          setShown(space.trim() || null);
        }}
      >
        <label for="ledger-space">Space id</label>
        <input id="ledger-space" value={space} onInput={(e) => setSpace(e.currentTarget.value)} />
        <button type="submit">Show ledger</button>
      </form>
      {failed && <Banner kind="error">No ledger for {shown} (the space does not exist or you cannot see it).</Banner>}
      {body && (
        <table>
          <caption>Ledger of {shown} (quota space {body.quota_space_id})</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Credits</th>
              <th scope="col">Who</th>
              <th scope="col">Task or note</th>
            </tr>
          </thead>
          <tbody>
            {body.entries.map((e) => (
              <tr key={e.id}>
                <td>{dateTime(e.created_at)}</td>
                <td>{e.reason}</td>
                <td>{e.credits}</td>
                <td>{e.actor}</td>
                <td>{e.task_id ?? e.note ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function AdminPage() {
  return (
    <>
      <h1>Admin</h1>
      <OverrideRequests />
      <div class="grid">
        <PlanForm />
        <LimitsForm />
        <GrantOverride />
      </div>
      <Ledger />
    </>
  );
}

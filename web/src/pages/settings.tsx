import { useState } from 'preact/hooks';
import type { Schemas } from '../../../src/client/client.js';
import { Banner, Bar, BadgeView, Confirm, ErrorBanner, usePolling } from '../components.js';
import { dateTime, hoursText, usedShare } from '../format.js';
import { callApi, errorText } from '../session.js';
import { useSession } from '../app.js';

function ApiKeys() {
  const { client } = useSession();
  const keys = usePolling(() => client.listApiKeys(), null);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<Schemas['ApiKeyCreated'] | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <section aria-labelledby="keys-heading">
      <h2 id="keys-heading">API keys</h2>
      {created && (
        <Banner kind="success">
          New key “{created.name}”: <code class="secret">{created.key}</code> — copy it now, it is shown only once.
        </Banner>
      )}
      {error && <Banner kind="error">{error}</Banner>}
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          setError(null);
          client.createApiKey({ name: name.trim() }).then(
            (key) => {
              setCreated(key);
              setName('');
              void keys.refresh();
            },
            (e: unknown) => setError(errorText(e)),
          );
        }}
      >
        <label for="key-name">Key name</label>
        <input id="key-name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="laptop CLI" />
        <button type="submit">Create API key</button>
      </form>
      <ul class="rows">
        {keys.data?.map((key) => (
          <li key={key.id}>
            <strong>{key.name}</strong> <code>{key.prefix}…</code> · {key.status} · created {dateTime(key.created_at)}
            {key.status === 'active' &&
              (revoking === key.id ? (
                <Confirm
                  question={`Revoke the key “${key.name}”? Programs using it stop working.`}
                  yes="Yes, revoke it"
                  no="Keep it"
                  onNo={() => setRevoking(null)}
                  onYes={async () => {
                    try {
                      await client.revokeApiKey(key.id);
                      setRevoking(null);
                      await keys.refresh();
                    } catch (e) {
                      setError(errorText(e));
                    }
                  }}
                />
              ) : (
                <>
                  {' '}
                  <button onClick={() => setRevoking(key.id)} aria-label={`Revoke ${key.name}`}>
                    Revoke
                  </button>
                </>
              ))}
          </li>
        ))}
      </ul>
      {keys.data && keys.data.length === 0 && <p>No API keys yet.</p>}
    </section>
  );
}

export function SettingsPage() {
  const session = useSession();
  const limits = usePolling(() => session.client.myLimits(), 10_000);
  const devices = usePolling(() => callApi<Schemas['ExecutorList']>(session.config, session.credential, 'GET', '/api/v1/executors'), 10_000);
  const l = limits.data;
  return (
    <>
      <h1>Settings</h1>
      <ErrorBanner error={limits.error} />
      {l && (
        <section aria-labelledby="plan-heading">
          <h2 id="plan-heading">Plan and limits</h2>
          <p>
            Plan: <strong>{l.plan}</strong>
          </p>
          <Bar
            label="Monthly agent hours"
            share={usedShare(l.monthly_agent_hours_used, l.monthly_agent_hours_limit)}
            text={`${hoursText(l.monthly_agent_hours_used)} of ${l.monthly_agent_hours_limit === null ? 'unlimited' : hoursText(l.monthly_agent_hours_limit)} used · resets ${dateTime(l.billing_cycle_resets_at)}`}
          />
          <dl class="facts">
            <dt>Agents at once</dt>
            <dd>{l.max_concurrent_agents}</dd>
            <dt>Longest task</dt>
            <dd>{l.max_task_duration_minutes} minutes</dd>
            <dt>Queued tasks at most</dt>
            <dd>{l.max_pending_tasks}</dd>
            <dt>Reserved now</dt>
            <dd>{hoursText(l.monthly_agent_hours_reserved)}</dd>
            <dt>Billing day</dt>
            <dd>{l.billing_cycle_day}</dd>
          </dl>
        </section>
      )}
      <ApiKeys />
      <section aria-labelledby="devices-heading">
        <h2 id="devices-heading">Devices</h2>
        <ErrorBanner error={devices.error} />
        {devices.data && devices.data.length === 0 && <p>No devices registered. A device registers itself when its Nightshift app starts.</p>}
        <ul class="rows">
          {devices.data?.map((d) => (
            <li key={d.executor_id}>
              <strong>{d.executor_id}</strong>{' '}
              <BadgeView badge={d.online ? { icon: '🟢', label: 'Online', tone: 'green' } : { icon: '⚪', label: 'Offline', tone: 'gray' }} /> · last heartbeat {dateTime(d.last_heartbeat_at)} · {d.active_count}/{d.max_concurrent} busy ·
              capabilities: {d.capabilities.join(', ') || 'none'}
              {d.models.length > 0 ? ` · models: ${d.models.join(', ')}` : ''}
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}

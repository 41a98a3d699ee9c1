import { Bar, ErrorBanner, Link, usePolling } from '../components.js';
import { dateTime, deadlineAnswer } from '../format.js';
import { useSession } from '../app.js';

export function BatchesPage() {
  const { client } = useSession();
  const { data, error } = usePolling(() => client.listBatches({ limit: 50 }), 5000);
  return (
    <>
      <h1>Batches</h1>
      <ErrorBanner error={error} />
      {data && data.items.length === 0 && <p>No batches yet. Queue a night of work with `nightshift batch` or the API.</p>}
      <ul class="cards">
        {data?.items.map((b) => (
          <li class="card" key={b.id} aria-label={b.name}>
            <div class="card-head">
              <h3>
                <Link href={`/batches/${encodeURIComponent(b.id)}`}>{b.name}</Link>
              </h3>
              <span class="badge badge-gray">{b.status === 'cancelled' ? '⊘ Cancelled' : b.schedule ? `🔁 ${b.schedule.cron}` : '📦 One-off'}</span>
            </div>
            <p>
              {b.task_count} tasks · created {dateTime(b.created_at)}
              {b.deadline ? ` · deadline ${dateTime(b.deadline)}` : ''}
            </p>
          </li>
        ))}
      </ul>
    </>
  );
}

export function BatchPage({ id }: { id: string }) {
  const { client } = useSession();
  const { data: b, error } = usePolling(() => client.getBatch(id), 2000, [id]);
  if (!b) return <>{error ? <ErrorBanner error={error} /> : <p role="status">Loading…</p>}</>;
  const p = b.progress;
  const finished = p.completed + p.failed + p.cancelled;
  const answer = deadlineAnswer(b.eta, b.occurrence?.deadline ?? b.deadline, b.timezone);
  return (
    <>
      <p>
        <Link href="/batches">← Batches</Link>
      </p>
      <h1>{b.name}</h1>
      <ErrorBanner error={error} />
      <Bar label="Batch progress" share={p.total ? finished / p.total : 0} text={`${finished} of ${p.total} finished${p.finished ? ' — done' : ''}`} />
      <p>
        {p.completed} completed, {p.failed} failed, {p.cancelled} cancelled, {p.running + p.claimed} running, {p.pending} queued
      </p>
      {answer && (
        <p class="deadline">
          <strong>Deadline:</strong> {answer}
        </p>
      )}
      <dl class="facts">
        <dt>Status</dt>
        <dd>{b.status}</dd>
        <dt>Schedule</dt>
        <dd>{b.schedule ? `${b.schedule.cron} (${b.schedule.timezone})` : 'one-off'}</dd>
        <dt>Starts</dt>
        <dd>{dateTime(b.occurrence?.not_before ?? b.not_before, b.timezone)}</dd>
        <dt>Created</dt>
        <dd>{dateTime(b.created_at)}</dd>
      </dl>
      <p>
        <Link class="button primary" href={`/batches/${encodeURIComponent(b.id)}/report`}>
          Morning report
        </Link>
      </p>
      {b.occurrence && b.occurrence.task_ids.length > 0 && (
        <>
          <h2>Tasks</h2>
          <ul>
            {b.occurrence.task_ids.map((taskId) => (
              <li key={taskId}>
                <Link href={`/tasks/${encodeURIComponent(taskId)}`}>{taskId}</Link>
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}

import { ErrorBanner, Link, usePolling } from '../components.js';
import { credits, dateTime, hoursText } from '../format.js';
import { useSession } from '../app.js';

const OUTCOME: Record<string, string> = {
  completed: '✅ Completed',
  failed: '❌ Failed',
  timed_out: '⏱️ Timed out',
  cancelled: '⊘ Cancelled',
  pending: '⏳ Queued',
  claimed: '🚀 Starting',
  running: '▶️ Running',
};

/** What happened overnight: readable on a phone, printable on paper. */
export function ReportPage({ id, occurrence }: { id: string; occurrence?: string }) {
  const { client } = useSession();
  const { data: r, error } = usePolling(() => client.batchReport(id, occurrence), 5000, [id, occurrence]);
  if (!r) return <>{error ? <ErrorBanner error={error} /> : <p role="status">Loading…</p>}</>;
  const t = r.totals;
  return (
    <article class="report">
      <p class="no-print">
        <Link href={`/batches/${encodeURIComponent(id)}`}>← Batch</Link> <button onClick={() => window.print()}>Print</button>
      </p>
      <h1>Morning report: {r.name}</h1>
      <ErrorBanner error={error} />
      <section aria-labelledby="totals-heading" class="totals">
        <h2 id="totals-heading">Totals</h2>
        <p>
          {t.tasks} tasks: {t.completed} completed, {t.failed} failed, {t.timed_out} timed out, {t.cancelled} cancelled, {t.unfinished} unfinished
        </p>
        <p>
          {hoursText(t.agent_hours)} of agent time · {credits(t.credits)} · {t.files_changed} files changed
        </p>
        <p>
          From {dateTime(t.started_at)} to {dateTime(t.finished_at)}
        </p>
      </section>
      <section aria-labelledby="tasks-heading">
        <h2 id="tasks-heading">Every task</h2>
        <ol class="report-tasks">
          {r.tasks.map((task) => (
            <li key={task.task_id} class="card">
              <h3>
                <Link href={`/tasks/${encodeURIComponent(task.task_id)}`}>{task.title}</Link>
              </h3>
              <p class="outcome">{OUTCOME[task.outcome] ?? task.outcome}</p>
              {task.summary && <p>{task.summary}</p>}
              {task.reason && <p class="failure">Reason: {task.reason}</p>}
              <p class="meta">
                {dateTime(task.started_at)} → {dateTime(task.completed_at)} · {hoursText(task.agent_hours)} · {credits(task.credits)}
              </p>
              {task.files_changed.length > 0 && <p class="meta">Files: {task.files_changed.join(', ')}</p>}
              {task.repository?.branch && (
                <p class="meta">
                  Branch <code>{task.repository.branch}</code>
                  {task.repository.diff_stat ? ` · ${task.repository.diff_stat.files} file${task.repository.diff_stat.files === 1 ? '' : 's'}, +${task.repository.diff_stat.insertions} −${task.repository.diff_stat.deletions}` : ''}
                </p>
              )}
              {task.repository?.pull_request_url && (
                <p class="meta">
                  Pull request <a href={task.repository.pull_request_url}>{task.repository.pull_request_url}</a>
                </p>
              )}
              {task.repository?.push_error && <p class="failure">Push failed: {task.repository.push_error}</p>}
              {task.repository?.fetch_command && (
                <p class="meta">
                  Get it: <code>{task.repository.fetch_command}</code>
                </p>
              )}
            </li>
          ))}
        </ol>
      </section>
    </article>
  );
}

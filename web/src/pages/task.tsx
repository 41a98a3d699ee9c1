import { useEffect, useRef } from 'preact/hooks';
import { ErrorBanner, Link, TaskBadge, usePolling, useNow } from '../components.js';
import { credits, elapsed, hoursText, preciseTime, waitingReason } from '../format.js';
import { useSession } from '../app.js';
import { CancelTask, isActive } from './task-card.js';

const LOG_BYTES = 16 * 1024;

export function TaskPage({ id }: { id: string }) {
  const { client } = useSession();
  const now = useNow();
  const task = usePolling(() => client.getTask(id), 1500, [id]);
  const t = task.data;
  const following = t ? isActive(t) : true;
  // The log tail follows while the task runs, then is read once more at the end.
  const logs = usePolling(() => client.taskLogs(id, LOG_BYTES).catch(() => null), following ? 2000 : null, [id, following]);
  const logRef = useRef<HTMLPreElement>(null);
  useEffect(() => {
    if (logRef.current) logRef.current.scrollTop = logRef.current.scrollHeight;
  }, [logs.data?.logs]);

  if (!t) return <>{task.error ? <ErrorBanner error={task.error} /> : <p role="status">Loading…</p>}</>;
  const waiting = waitingReason(t, null, now);
  const timeline: Array<[string, string | null]> = [
    ['Created', t.created_at],
    ['Claimed', t.claimed_at],
    ['Started', t.started_at],
    [t.status === 'cancelled' ? 'Cancelled' : t.status === 'failed' ? 'Failed' : 'Finished', t.completed_at],
  ];
  return (
    <>
      <p>
        <Link href="/">← Tonight</Link>
      </p>
      <h1>{t.title}</h1>
      <p>
        <TaskBadge task={t} /> {waiting && <span>— {waiting}</span>}
      </p>
      <ErrorBanner error={task.error} />
      <CancelTask task={t} onDone={() => void task.refresh()} />
      {t.failure_reason && (
        <section aria-labelledby="failure-heading" class="failure">
          <h2 id="failure-heading">Why it failed</h2>
          <p>{t.failure_reason}</p>
        </section>
      )}
      <section aria-labelledby="timeline-heading">
        <h2 id="timeline-heading">Timeline</h2>
        <ol class="timeline">
          {timeline.map(([label, at]) => (
            <li key={label} class={at ? 'done' : 'todo'}>
              <strong>{label}</strong>: {at ? preciseTime(at) : 'not yet'}
            </li>
          ))}
        </ol>
        {elapsed(t, now) && <p>Elapsed: {elapsed(t, now)}</p>}
      </section>
      <section aria-labelledby="result-heading">
        <h2 id="result-heading">Result</h2>
        <p>{t.result_summary ?? (isActive(t) ? 'No result yet.' : 'No summary was reported.')}</p>
        {t.result_truncated && <p>Note: {t.result_truncated}</p>}
        <h3>Files changed</h3>
        {t.files_changed && t.files_changed.length > 0 ? (
          <ul>
            {t.files_changed.map((file) => (
              <li key={file}>
                <code>{file}</code>
              </li>
            ))}
          </ul>
        ) : (
          <p>None reported.</p>
        )}
        {(t.branch || t.diff_stat) && (
          <dl class="facts">
            {t.branch && (
              <>
                <dt>Branch</dt>
                <dd>
                  <code>{t.branch}</code>
                </dd>
              </>
            )}
            {t.diff_stat && (
              <>
                <dt>Diff</dt>
                <dd>
                  {t.diff_stat.files} file{t.diff_stat.files === 1 ? '' : 's'}, +{t.diff_stat.insertions} −{t.diff_stat.deletions}
                </dd>
              </>
            )}
            {t.pull_request_url && (
              <>
                <dt>Pull request</dt>
                <dd>
                  <a href={t.pull_request_url}>{t.pull_request_url}</a>
                </dd>
              </>
            )}
            {t.push_error && (
              <>
                <dt>Push</dt>
                <dd>{t.push_error}</dd>
              </>
            )}
            {t.fetch_command && (
              <>
                <dt>Get it</dt>
                <dd>
                  <code>{t.fetch_command}</code>
                </dd>
              </>
            )}
          </dl>
        )}
      </section>
      <section aria-labelledby="log-heading">
        <h2 id="log-heading">Log{following ? ' (following)' : ''}</h2>
        <pre class="log" ref={logRef} tabIndex={0} aria-label="Sandbox log tail">
          {logs.data?.available ? logs.data.logs || '(empty so far)' : 'No log is kept for this task yet.'}
        </pre>
      </section>
      <section aria-labelledby="fields-heading">
        <h2 id="fields-heading">Details</h2>
        <dl class="facts">
          <dt>Id</dt>
          <dd>
            <code>{t.id}</code>
          </dd>
          <dt>Status</dt>
          <dd>{t.status}</dd>
          <dt>Description</dt>
          <dd>{t.description || '—'}</dd>
          <dt>Priority</dt>
          <dd>{t.priority}</dd>
          <dt>Preference</dt>
          <dd>{t.execution_preference}</dd>
          <dt>Runs</dt>
          <dd>{t.execution_location === 'local' ? `locally${t.executor_id ? ` on ${t.executor_id}` : ''}` : 'in the cloud'}</dd>
          {t.routing_note && (
            <>
              <dt>Routing</dt>
              <dd>{t.routing_note}</dd>
            </>
          )}
          <dt>Space</dt>
          <dd>{t.space_id}</dd>
          {t.batch_id && (
            <>
              <dt>Batch</dt>
              <dd>
                <Link href={`/batches/${encodeURIComponent(t.batch_id)}`}>{t.batch_id}</Link>
              </dd>
            </>
          )}
          <dt>Credits</dt>
          <dd>
            {credits(t.estimated_credits)} estimated{t.actual_credits !== null ? `, ${credits(t.actual_credits)} charged` : ''}
          </dd>
          <dt>Agent hours</dt>
          <dd>{t.used_seconds !== null ? hoursText(t.used_seconds / 3600) : '—'}</dd>
          <dt>Attempts</dt>
          <dd>{t.attempts}</dd>
        </dl>
      </section>
    </>
  );
}

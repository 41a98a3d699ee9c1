import { useState } from 'preact/hooks';
import type { Task } from '../../../src/client/client.js';
import { Confirm, Link, TaskBadge } from '../components.js';
import { clock, credits, elapsed, hoursText, waitingReason, type QueueState } from '../format.js';
import { errorText } from '../session.js';
import { useSession } from '../app.js';

export const isActive = (task: Pick<Task, 'status'>) => task.status === 'pending' || task.status === 'claimed' || task.status === 'running';

/** Cancels after a confirmation; used on the card and on the task page. */
export function CancelTask({ task, onDone }: { task: Task; onDone: () => void }) {
  const { client } = useSession();
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!isActive(task)) return null;
  return (
    <div class="cancel">
      {asking ? (
        <Confirm
          question={`Cancel “${task.title}”?`}
          yes="Yes, cancel it"
          no="Keep it"
          onNo={() => setAsking(false)}
          onYes={async () => {
            try {
              await client.cancelTask(task.id);
              setAsking(false);
              onDone();
            } catch (e) {
              setError(errorText(e));
            }
          }}
        />
      ) : (
        <button onClick={() => setAsking(true)} aria-label={`Cancel task ${task.title}`}>
          Cancel task
        </button>
      )}
      {error && <p role="alert">{error}</p>}
    </div>
  );
}

export function TaskCard({ task, queue, now, onChange }: { task: Task; queue: QueueState | null; now: Date; onChange: () => void }) {
  const waiting = waitingReason(task, queue, now);
  const ran = elapsed(task, now);
  const blocked = task.status === 'pending' && task.blocked_reason;
  return (
    <li class="card" aria-label={task.title}>
      <div class="card-head">
        <h3>
          <Link href={`/tasks/${encodeURIComponent(task.id)}`}>{task.title}</Link>
        </h3>
        <TaskBadge task={task} />
      </div>
      <dl class="facts">
        {task.queue_position !== null && (
          <>
            <dt>Queue position</dt>
            <dd>#{task.queue_position}</dd>
          </>
        )}
        {waiting && (
          <>
            <dt>Why it waits</dt>
            <dd>{waiting}</dd>
          </>
        )}
        {task.started_at && (
          <>
            <dt>Started</dt>
            <dd>{clock(task.started_at)}</dd>
          </>
        )}
        {ran && (
          <>
            <dt>Elapsed</dt>
            <dd>{ran}</dd>
          </>
        )}
        <dt>Credits</dt>
        <dd>{task.actual_credits !== null ? credits(task.actual_credits) : `${credits(task.estimated_credits)} (estimated)`}</dd>
        {task.used_seconds !== null && (
          <>
            <dt>Agent hours</dt>
            <dd>{hoursText(task.used_seconds / 3600)}</dd>
          </>
        )}
        <dt>Space</dt>
        <dd>{task.space_id}</dd>
      </dl>
      {task.status === 'failed' && task.failure_reason && <p class="failure">Failure: {task.failure_reason}</p>}
      <div class="actions">
        {blocked && (
          <Link class="button" href={`/quotas?space=${encodeURIComponent(task.space_id)}`}>
            Request an override for {task.space_id}
          </Link>
        )}
        <CancelTask task={task} onDone={onChange} />
      </div>
    </li>
  );
}

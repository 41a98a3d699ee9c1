import type { Schemas, Task } from '../../../src/client/client.js';
import { Banner, Bar, ErrorBanner, Link, usePolling, useNow } from '../components.js';
import { hoursText, usedShare } from '../format.js';
import { useSession } from '../app.js';
import { TaskCard } from './task-card.js';
import { quotaBanners } from './quotas.js';

/** Polled every 1.5 s: a change shows within 2 s without a reload. */
export const POLL_MS = 1500;

export function TonightPage() {
  const { client } = useSession();
  const now = useNow();
  const { data, error, refresh } = usePolling(async () => {
    const [page, queue] = await Promise.all([client.listTasks({ limit: 50 }), client.queueStatus()]);
    const spaces = [...new Set(page.items.filter((t) => t.status === 'pending' || t.status === 'claimed' || t.status === 'running').map((t) => t.space_id))];
    const quotas = (await Promise.all(spaces.map((space) => client.spaceQuota(space).catch(() => null)))).filter((q): q is Schemas['SpaceQuota'] => q !== null);
    return { tasks: page.items, queue, quotas };
  }, POLL_MS);

  const tasks: Task[] = data?.tasks ?? [];
  const active = tasks.filter((t) => t.status === 'pending' || t.status === 'claimed' || t.status === 'running');
  const done = tasks.filter((t) => !active.includes(t));
  const queue = data?.queue;

  return (
    <>
      <h1>Tonight</h1>
      <ErrorBanner error={error} />
      {data?.quotas && quotaBanners(data.quotas)}
      {queue && (
        <section class="summary" aria-label="Queue">
          <p>
            <strong>
              {queue.running} of {queue.max_concurrent} running
            </strong>
            , {queue.pending} queued{queue.blocked_reason ? ` — ${queue.blocked_reason}` : ''}
          </p>
          <Bar
            label="Monthly agent hours"
            share={usedShare(queue.monthly_hours_used, queue.monthly_hours_limit)}
            text={queue.monthly_hours_limit === null ? `${hoursText(queue.monthly_hours_used)} used (unlimited)` : `${hoursText(queue.monthly_hours_used)} of ${hoursText(queue.monthly_hours_limit)} used`}
          />
        </section>
      )}
      <p>
        <Link class="button primary" href="/tasks/new">
          New task
        </Link>
      </p>
      <section aria-labelledby="active-heading">
        <h2 id="active-heading">Queued and running ({active.length})</h2>
        {data && active.length === 0 && <p>Nothing queued. Add a task before bed and read the results in the morning.</p>}
        <ul class="cards">
          {active.map((task) => (
            <TaskCard key={task.id} task={task} queue={queue ?? null} now={now} onChange={() => void refresh()} />
          ))}
        </ul>
      </section>
      <section aria-labelledby="done-heading">
        <h2 id="done-heading">Finished ({done.length})</h2>
        <ul class="cards">
          {done.map((task) => (
            <TaskCard key={task.id} task={task} queue={null} now={now} onChange={() => void refresh()} />
          ))}
        </ul>
      </section>
      {!data && !error && <p role="status">Loading…</p>}
      {data && tasks.length > 0 && <Banner kind="info">Updates by itself every few seconds.</Banner>}
    </>
  );
}

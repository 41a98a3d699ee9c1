import { beforeEach, describe, expect, it } from 'vitest';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { PromotionPace } from '../../src/scheduling/promotion-pace.js';
import { enqueueTasks, newTask } from '../../src/tasks/create-task.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { updateUserAccount } from '../../src/accounts/limits.js';
import { ddb } from '../../src/platform/aws.js';
import { getConfig } from '../../src/platform/config.js';
import { useFreshTable } from '../support/local-env.js';

/*
 * An orchestrator whose passes come close together promotes due users once a second, not in every
 * pass; what must not wait for the pace still does not: a not_before that is due now, and an idle
 * orchestrator (nobody ready) asks for a catch-up pass when the pace allows, which promotes.
 */

const queue = (user: string, title: string, now: Date, notBefore?: Date) =>
  enqueueTasks(user, [newTask(user, taskCreateSchema.parse({ title, not_before: notBefore?.toISOString() }), now)], now);

/** Counts the Queries of the `due` index (promotion's reads of the DEFERRED shards) until `stop`. */
function countDueIndexQueries(): { count: number; stop: () => void } {
  const name = `countDue-${Math.random()}`;
  const counter = { count: 0, stop: () => void ddb().middlewareStack.remove(name) };
  ddb().middlewareStack.add(
    (next) => async (args) => {
      if ((args.input as { IndexName?: string }).IndexName === 'due') counter.count += 1;
      return next(args);
    },
    { step: 'initialize', name },
  );
  return counter;
}

describe('the promotion pace', () => {
  beforeEach(async () => {
    await useFreshTable();
  });

  it('skips promotion in a pass soon after the last one, and still claims the ready user', async () => {
    const start = new Date();
    const pace = new PromotionPace(1_000);
    await queue('first', 'one', start);
    await claimNextTasks({ promotionPace: pace, now: () => start });
    await queue('second', 'two', start);

    const due = countDueIndexQueries();
    try {
      const pass = await claimNextTasks({ promotionPace: pace, now: () => new Date(start.getTime() + 300) });
      expect(pass.claimed.map((task) => task.user_id)).toEqual(['second']);
      expect(due.count).toBe(0);
      // A second later the pace lets a pass promote again: it reads every DEFERRED shard.
      await claimNextTasks({ promotionPace: pace, now: () => new Date(start.getTime() + 1_300) });
      expect(due.count).toBe(getConfig().schedulerShards);
    } finally {
      due.stop();
    }
  });

  it('promotes a user whose not_before came when told to, however recent the last promotion', async () => {
    const start = new Date();
    const pace = new PromotionPace(60_000);
    await updateUserAccount('busy', (account) => ({ ...account, plan: 'enterprise' }), 'test-admin');
    const [waiting] = await queue('later', 'at ten', start, new Date(start.getTime() + 10_000));
    await queue('busy', 'now', start);
    expect((await claimNextTasks({ promotionPace: pace, now: () => start })).claimed.map((task) => task.user_id)).toEqual(['busy']);
    await queue('busy', 'again', start);

    const at = () => new Date(start.getTime() + 10_500);
    // Without being told, the pace holds promotion back: only the ready user is claimed.
    const paced = await claimNextTasks({ promotionPace: pace, now: at, maxClaims: 1 });
    expect(paced.claimed.map((task) => task.user_id)).toEqual(['busy']);
    expect(paced.promoted).toBe(0);
    await queue('busy', 'third', start);

    const woken = await claimNextTasks({ promotionPace: pace, now: at, promoteNow: true });
    expect(woken.promoted).toBe(1);
    expect(woken.claimed.map((task) => task.id)).toContain(waiting?.id);
  });

  it('an idle pass held back by the pace reads no due shard and asks for one catch-up, whose pass promotes', async () => {
    const start = new Date();
    const pace = new PromotionPace(1_000);
    const [waiting] = await queue('sleeper', 'soon', start, new Date(start.getTime() + 200));
    const first = await claimNextTasks({ promotionPace: pace, now: () => start });
    expect(first.claimed).toEqual([]);
    expect(first.promotionHeldBack).toBe(false);

    const idle = () => claimNextTasks({ promotionPace: pace, now: () => new Date(start.getTime() + 300) });
    const due = countDueIndexQueries();
    let held: Awaited<ReturnType<typeof idle>>;
    try {
      held = await idle();
      expect(due.count).toBe(0);
    } finally {
      due.stop();
    }
    expect(held.promotionHeldBack).toBe(true);
    expect(held.claimed).toEqual([]);
    // One catch-up for when the pace allows again; a second idle pass asks for none.
    expect(pace.catchUp(start.getTime() + 300)).toBe(start.getTime() + 1_000);
    expect((await idle()).promotionHeldBack).toBe(true);
    expect(pace.catchUp(start.getTime() + 400)).toBeNull();

    // The catch-up's wake is for a time that has come: its pass is told to promote.
    const caughtUp = await claimNextTasks({ promotionPace: pace, now: () => new Date(start.getTime() + 1_000), promoteNow: true });
    expect(caughtUp.promoted).toBe(1);
    expect(caughtUp.claimed.map((task) => task.id)).toEqual([waiting?.id]);
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { listMySpaces, putSpace } from '../../src/spaces/spaces.js';
import { spacePutSchema } from '../../src/spaces/schemas.js';
import { useFreshTable } from '../support/local-env.js';

const as = (userId: string, isAdmin = false) => ({ userId, isAdmin });
const body = (value: unknown) => spacePutSchema.parse(value);

/** Every page of a user's spaces, following the cursor. */
async function allSpaceIds(userId: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await listMySpaces(as(userId), { limit, cursor });
    ids.push(...page.spaces.map((space) => space.id));
    cursor = page.nextCursor ?? undefined;
    pages += 1;
  } while (cursor && pages < 20);
  return { ids, pages };
}

beforeAll(async () => {
  await useFreshTable();
});

describe('GET /spaces: the spaces a user owns or is a member of', () => {
  it('lists owned and member spaces by id, page by page, and never another user\'s', async () => {
    // Prepare
    await putSpace(as('ls-alice'), 'ls-research', body({ name: 'Research', members: ['ls-bob'], quota: { monthly_limit: 100 } }));
    await putSpace(as('ls-alice'), 'ls-alpha', body({ name: 'Alpha' }));
    await putSpace(as('ls-bob'), 'ls-bobs', body({ name: "Bob's" }));
    await putSpace(as('ls-carol'), 'ls-carols', body({ name: "Carol's" }));

    // Act
    const alice = await allSpaceIds('ls-alice', 1);
    const bob = await allSpaceIds('ls-bob', 50);
    const first = await listMySpaces(as('ls-alice'), { limit: 50 });

    // Assess
    expect(alice.ids).toEqual(['ls-alpha', 'ls-research']);
    expect(alice.pages).toBeGreaterThanOrEqual(2);
    expect(bob.ids).toEqual(['ls-bobs', 'ls-research']);
    expect(first.spaces.find((space) => space.id === 'ls-research')).toMatchObject({ name: 'Research', owner_id: 'ls-alice', members: ['ls-bob'], quota: { monthly_limit: 100 } });
    expect(first.nextCursor).toBeNull();
  });

  it('follows membership changes: a removed member no longer sees the space, an added one does', async () => {
    // Prepare
    await putSpace(as('mv-alice'), 'mv-space', body({ members: ['mv-bob'] }));

    // Act: alice (the owner) swaps bob for carol.
    await putSpace(as('mv-alice'), 'mv-space', body({ members: ['mv-carol'] }));

    // Assess
    expect((await allSpaceIds('mv-bob', 10)).ids).toEqual([]);
    expect((await allSpaceIds('mv-carol', 10)).ids).toEqual(['mv-space']);
    expect((await allSpaceIds('mv-alice', 10)).ids).toEqual(['mv-space']);
  });

  it('keeps the list right for a member list larger than one transaction', async () => {
    // Prepare: 150 members, more than DynamoDB's 100 items per transaction.
    const members = Array.from({ length: 150 }, (_, i) => `big-${i}`);
    await putSpace(as('big-owner'), 'big-space', body({ members }));

    // Act: all but the first member are replaced.
    await putSpace(as('big-owner'), 'big-space', body({ members: ['big-0', 'big-new'] }));

    // Assess
    expect((await allSpaceIds('big-149', 10)).ids).toEqual([]);
    expect((await allSpaceIds('big-0', 10)).ids).toEqual(['big-space']);
    expect((await allSpaceIds('big-new', 10)).ids).toEqual(['big-space']);
  });

  it('refuses a cursor from another user\'s list', async () => {
    await putSpace(as('cur-alice'), 'cur-a1', body({}));
    await putSpace(as('cur-alice'), 'cur-a2', body({}));
    const page = await listMySpaces(as('cur-alice'), { limit: 1 });
    expect(page.nextCursor).not.toBeNull();
    await expect(listMySpaces(as('cur-mallory'), { limit: 1, cursor: page.nextCursor ?? undefined })).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });
});

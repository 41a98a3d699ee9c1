import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { GitWorkspaces, parseNumstat } from '../../src/sandbox/git-workspace.js';

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });

let root: string;
let origin: string;
let workspaces: GitWorkspaces;
const log = () => join(root, 'git.log');

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nightshift-git-'));
  origin = join(root, 'origin');
  mkdirSync(origin);
  git(origin, 'init', '--quiet', '-b', 'main');
  writeFileSync(join(origin, 'a.txt'), 'one\ntwo\n');
  git(origin, 'add', '.');
  git(origin, '-c', 'user.name=Ann', '-c', 'user.email=ann@example.com', 'commit', '--quiet', '-m', 'first');
  workspaces = new GitWorkspaces({ dataDir: join(root, 'data') });
});

describe('git worktrees of a cached clone', () => {
  it('clones a repository once for many tasks and gives each its own working tree', async () => {
    const checkouts = await Promise.all(
      [1, 2, 3].map((n) => workspaces.checkout({ url: origin, baseRef: 'main', branch: `nightshift/t${n}`, push: true }, join(root, `w${n}`), log())),
    );
    expect(new Set(checkouts).size).toBe(1);
    expect(git(root, '-C', workspaces.cachePath(origin), 'worktree', 'list').trim().split('\n')).toHaveLength(4); // the bare clone + 3
    writeFileSync(join(root, 'w1', 'a.txt'), 'one\n');
    expect(git(join(root, 'w2'), 'status', '--porcelain')).toBe('');
  });

  it('cleans the checkout a crashed attempt left before the next attempt starts', async () => {
    const repo = { url: `file://${origin}`, baseRef: 'main', branch: 'nightshift/crashy', push: true };
    await workspaces.checkout(repo, join(root, 'attempt-1'), log());
    writeFileSync(join(root, 'attempt-1', 'half-done.txt'), 'x');
    // attempt 1 "crashed": nothing collected; attempt 2 starts on the same branch
    const base = await workspaces.checkout(repo, join(root, 'attempt-2'), log());
    expect(existsSync(join(root, 'attempt-1'))).toBe(false);
    expect(existsSync(join(root, 'attempt-2', 'half-done.txt'))).toBe(false);

    writeFileSync(join(root, 'attempt-2', 'a.txt'), 'one\nTWO\nthree\n');
    writeFileSync(join(root, 'attempt-2', 'b.bin'), Buffer.from([0, 1, 2, 0]));
    const result = await workspaces.collect(repo, join(root, 'attempt-2'), base, 'Fix two', log());
    expect(result).toMatchObject({ branch: 'nightshift/crashy', base_commit: base, diff_stat: { files: 2, insertions: 2, deletions: 1 }, files_changed: ['a.txt', 'b.bin'], push_error: null });
    expect(result.patch).toContain('+TWO');
    expect(git(origin, 'log', '--format=%an <%ae>|%s', 'main..nightshift/crashy').trim()).toBe('Nightshift agent <agent@nightshift.invalid>|Fix two');
    expect(existsSync(join(root, 'attempt-2'))).toBe(false); // the worktree goes, the branch stays
  });

  it('records a rejected push and still returns the result', async () => {
    // The repository refuses pushes to nightshift/* through a hook on its side.
    const hook = join(origin, '.git', 'hooks', 'pre-receive');
    writeFileSync(hook, '#!/bin/sh\necho "pushes are closed" >&2\nexit 1\n', { mode: 0o755 });
    const repo = { url: origin, baseRef: 'main', branch: 'nightshift/rejected', push: true };
    const base = await workspaces.checkout(repo, join(root, 'w'), log());
    writeFileSync(join(root, 'w', 'c.txt'), 'c\n');
    const result = await workspaces.collect(repo, join(root, 'w'), base, 'Add c', log());
    expect(result.head_commit).not.toBe(base);
    expect(result.push_error).toContain('pushes are closed');
  });

  it('ignores hooks the agent plants in the cached clone', async () => {
    const repo = { url: origin, baseRef: 'main', branch: 'nightshift/hooked', push: false };
    const base = await workspaces.checkout(repo, join(root, 'w'), log());
    const marker = join(root, 'hook-ran');
    writeFileSync(join(workspaces.cachePath(origin), 'hooks', 'pre-commit'), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    writeFileSync(join(root, 'w', 'd.txt'), 'd\n');
    await workspaces.collect(repo, join(root, 'w'), base, 'Add d', log());
    expect(existsSync(marker)).toBe(false);
  });
});

describe('git diff --numstat', () => {
  it('counts lines, binary files and renames', () => {
    expect(parseNumstat('3\t1\ta.txt\0-\t-\timg.png\x000\t0\t\0old.txt\0new.txt\0')).toEqual({
      stat: { files: 3, insertions: 3, deletions: 1 },
      files: ['a.txt', 'img.png', 'new.txt'],
    });
    expect(parseNumstat('')).toEqual({ stat: { files: 0, insertions: 0, deletions: 0 }, files: [] });
  });
});

import { describe, expect, it } from 'vitest';
import { refNameProblem, repoLocation, repoUrlProblem } from '../../../src/projects/project.js';
import { projectPutSchema } from '../../../src/projects/schemas.js';

describe('repository addresses a project may name', () => {
  it.each([
    ['/home/ann/code/app', 'local'],
    ['file:///home/ann/code/app', 'local'],
    ['https://github.com/ann/app.git', 'remote'],
    ['ssh://git@github.com/ann/app.git', 'remote'],
    ['git@github.com:ann/app.git', 'remote'],
  ])('accepts %s (%s)', (url, location) => {
    expect(repoUrlProblem(url)).toBeNull();
    expect(repoLocation(url)).toBe(location);
  });

  it.each([
    ['ext::sh -c touch% /tmp/pwned', /transport helpers|spaces/],
    ['ext::ssh', /transport helpers/],
    ['fd::17', /transport helpers/],
    ['-uhelp', /may not start with "-"/],
    ['ssh://-oProxyCommand=touch%20x/repo', /host name/],
    ['https://ann:ghp_secret@github.com/ann/app.git', /credentials/],
    ['https://ghp_token@github.com/ann/app.git', /credentials/],
    ['http://github.com/ann/app.git', /not encrypted/],
    ['git://github.com/ann/app.git', /not encrypted/],
    ['file://otherhost/repo', /this machine/],
    ['relative/path', /absolute local path|scheme|must be/],
    ['/home/ann/../bob/repo', /\.\./],
    ['/tmp/repo\nmore', /control characters/],
    ['ftp://example.com/repo', /not supported/],
  ])('refuses %s', (url, message) => {
    expect(repoUrlProblem(url)).toMatch(message);
  });
});

describe('branch names', () => {
  it.each(['main', 'release/2026.12', 'feature-x', 'v1.2.3'])('accepts %s', (ref) => expect(refNameProblem(ref)).toBeNull());
  it.each(['-delete', 'a..b', 'a b', 'x.lock', '/main', 'main/', 'a//b', '.hidden', 'a;rm'])('refuses %s', (ref) => expect(refNameProblem(ref)).not.toBeNull());

  it('fills in defaults and rejects unknown fields', () => {
    expect(projectPutSchema.parse({ repo_url: '/srv/app' })).toEqual({ repo_url: '/srv/app', default_branch: 'main', push: false, pull_requests: false });
    expect(projectPutSchema.safeParse({ repo_url: '/srv/app', token: 'x' }).success).toBe(false);
  });
});

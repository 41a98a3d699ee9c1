/**
 * Draft pull requests through GitHub's REST API, for projects with `pull_requests`. The token is
 * the provider's own configuration (GITHUB_TOKEN of the Nightshift process), never the agent's.
 */

export interface GitHubOptions {
  /** REST API base, e.g. https://api.github.com (configurable for GitHub Enterprise and tests). */
  apiUrl: string;
  token: string;
  fetch?: typeof fetch;
}

export interface PullRequestRequest {
  repoUrl: string;
  branch: string;
  base: string;
  title: string;
  body: string;
}

/** owner/name of a GitHub repository address (https or ssh), or null when it names none. */
export function githubRepository(repoUrl: string): { owner: string; name: string } | null {
  const match = /^(?:https:\/\/[^/]+\/|ssh:\/\/(?:[^@/]+@)?[^/]+\/|[^@/\s]+@[^:/\s]+:)([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(repoUrl);
  return match ? { owner: match[1] as string, name: match[2] as string } : null;
}

/**
 * Opens a draft pull request for `branch`, or answers the URL of the open one that already
 * exists for it (a retried task does not open a second).
 */
export async function openDraftPullRequest(options: GitHubOptions, request: PullRequestRequest): Promise<string> {
  const repository = githubRepository(request.repoUrl);
  if (!repository) throw new Error(`${request.repoUrl} does not name a GitHub repository (owner/name)`);
  const fetchFn = options.fetch ?? globalThis.fetch;
  const base = `${options.apiUrl.replace(/\/+$/, '')}/repos/${encodeURIComponent(repository.owner)}/${encodeURIComponent(repository.name)}/pulls`;
  const headers = {
    accept: 'application/vnd.github+json',
    authorization: `Bearer ${options.token}`,
    'x-github-api-version': '2022-11-28',
    'content-type': 'application/json',
  };
  const existing = async (): Promise<string | null> => {
    const head = encodeURIComponent(`${repository.owner}:${request.branch}`);
    const response = await fetchFn(`${base}?state=open&head=${head}`, { headers, signal: AbortSignal.timeout(30_000) });
    if (!response.ok) throw new Error(`GitHub answered HTTP ${response.status} listing pull requests`);
    const pulls = (await response.json()) as Array<{ html_url?: unknown }>;
    const url = pulls[0]?.html_url;
    return typeof url === 'string' ? url : null;
  };
  const found = await existing();
  if (found) return found;
  const response = await fetchFn(base, {
    method: 'POST',
    headers,
    body: JSON.stringify({ title: request.title, head: request.branch, base: request.base, body: request.body, draft: true }),
    signal: AbortSignal.timeout(30_000),
  });
  if (response.status === 422) {
    // "A pull request already exists": opened meanwhile; use that one.
    await response.body?.cancel();
    const raced = await existing();
    if (raced) return raced;
  }
  const answer = (await response.json().catch(() => ({}))) as { html_url?: unknown; message?: unknown };
  if (!response.ok || typeof answer.html_url !== 'string') {
    throw new Error(`GitHub refused the pull request (HTTP ${response.status}${typeof answer.message === 'string' ? `: ${answer.message}` : ''})`);
  }
  return answer.html_url;
}

/**
 * Projects: a repository tasks run on. Pure rules: what a repository address may look like and
 * who may use a project. No I/O here; the store and the use cases build on these.
 */

export interface Project {
  id: string;
  owner_id: string;
  name: string;
  /** A local path or file:// URL (one machine), or an https:// / ssh address. Never credentials. */
  repo_url: string;
  default_branch: string;
  push: boolean;
  pull_requests: boolean;
  created_at: string;
  updated_at: string;
}

export type RepoLocation = 'local' | 'remote';

/** Why a repository address is refused, or null when it is one Nightshift may clone. */
export function repoUrlProblem(url: string): string | null {
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (url !== url.trim() || /[\s\u0000-\u001f\u007f]/.test(url)) return 'may not contain spaces or control characters';
  // "ext::" and "fd::" run commands or read descriptors; "-..." would be read as an option by git.
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(url)) return 'git transport helpers ("<transport>::") are not allowed';
  if (url.startsWith('-')) return 'may not start with "-"';
  if (url.startsWith('/')) return url.split('/').includes('..') ? 'a local path must not contain ".."' : null;
  const scpLike = /^([A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+):(?!\/\/)(.+)$/.exec(url);
  if (scpLike && !url.includes('://')) {
    const host = scpLike[2] ?? '';
    return host.startsWith('-') || host.startsWith('.') ? 'the host name is not valid' : null;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an absolute local path, a file:// URL, an https:// URL or an ssh address (git@host:owner/repo.git)';
  }
  switch (parsed.protocol) {
    case 'file:':
      if (parsed.host !== '') return 'a file:// URL must name a path on this machine (file:///path)';
      return decodeURIComponent(parsed.pathname).split('/').includes('..') ? 'a local path must not contain ".."' : null;
    case 'https:':
      // Tokens belong in the provider's configuration (a credential helper, a secret), never in the project.
      if (parsed.username || parsed.password) return 'may not contain credentials; configure a git credential helper instead';
      return parsed.hostname.startsWith('-') ? 'the host name is not valid' : null;
    case 'ssh:':
      if (parsed.password) return 'may not contain credentials';
      return parsed.hostname === '' || parsed.hostname.startsWith('-') ? 'the host name is not valid' : null;
    case 'http:':
    case 'git:':
      return `${parsed.protocol}// is not encrypted; use https:// or ssh`;
    default:
      return `the ${parsed.protocol} scheme is not supported`;
  }
}

/** Local repositories always receive the task's branch; remote ones only with `push`. */
export function repoLocation(url: string): RepoLocation {
  return url.startsWith('/') || url.startsWith('file:') ? 'local' : 'remote';
}

/**
 * A branch, tag or commit name as git accepts it (a subset of `git check-ref-format`), and never
 * one git could read as an option.
 */
export function refNameProblem(ref: string): string | null {
  if (!/^[A-Za-z0-9._/-]+$/.test(ref)) return 'may contain letters, digits and . _ / - only';
  if (ref.startsWith('-') || ref.startsWith('/') || ref.endsWith('/') || ref.endsWith('.')) return 'may not start with "-" or "/" or end with "/" or "."';
  if (ref.includes('..') || ref.includes('//') || ref.endsWith('.lock') || ref.split('/').some((part) => part.startsWith('.'))) {
    return 'is not a valid git ref name';
  }
  return null;
}

/** Only the owner uses a project (spaces share; repositories hold code people may not share). */
export const canUseProject = (project: Pick<Project, 'owner_id'>, userId: string): boolean => project.owner_id === userId;

/** The branch a task's changes land on. */
export const taskBranch = (taskId: string): string => `nightshift/${taskId}`;

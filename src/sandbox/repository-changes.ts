/**
 * What a repository task changed, as git tells it: the checkout, the result and the numstat parser.
 * Pure: shared by the process provider's git workspace and the Daytona provider's git API, so the
 * cloud functions carry no child_process or file-system code.
 */

export interface RepositoryCheckout {
  url: string;
  baseRef: string;
  branch: string;
  /** Push the branch back to the repository when the task ends. */
  push: boolean;
  /** Open a draft pull request for the pushed branch (remote GitHub repositories). */
  pullRequest?: boolean;
}

export interface RepositoryResult {
  branch: string;
  base_commit: string;
  head_commit: string;
  diff_stat: { files: number; insertions: number; deletions: number };
  files_changed: string[];
  push_error: string | null;
  pull_request_url?: string | null;
  /** `git diff --binary base head` and `git diff --stat base head`. */
  patch: string;
  stat: string;
}

export const AGENT_AUTHOR = { name: 'Nightshift agent', email: 'agent@nightshift.invalid' };

/** `git diff --numstat -z`: per file "<added>\t<deleted>\t<path>" ("-" for binary files); renames name two paths. */
export function parseNumstat(output: string): { stat: RepositoryResult['diff_stat']; files: string[] } {
  const fields = output.split('\0');
  const files: string[] = [];
  let insertions = 0;
  let deletions = 0;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    if (!field) continue;
    const match = /^(\d+|-)\t(\d+|-)\t(.*)$/s.exec(field);
    if (!match) continue;
    insertions += match[1] === '-' ? 0 : Number(match[1]);
    deletions += match[2] === '-' ? 0 : Number(match[2]);
    if (match[3] === '') {
      // A rename: the old and the new path follow as two fields; the new one is what changed.
      i += 2;
      const renamed = fields[i];
      if (renamed) files.push(renamed);
    } else {
      files.push(match[3] as string);
    }
  }
  return { stat: { files: files.length, insertions, deletions }, files };
}

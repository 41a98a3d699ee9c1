import type { SandboxTask } from '../sandbox/provider.js';
import type { Task } from './task.js';

/** What a sandbox provider is told of a task attempt, with the checkout to make on a repository task. */
export function sandboxTaskOf(task: Task): SandboxTask {
  const repository =
    task.repository && task.branch
      ? { url: task.repository.repo_url, baseRef: task.repository.base_ref, branch: task.branch, push: task.repository.push, pullRequest: task.repository.pull_requests }
      : null;
  return { id: task.id, attempt: task.attempts, title: task.title, description: task.description, user_id: task.user_id, repository };
}

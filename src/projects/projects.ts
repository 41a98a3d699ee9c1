/** Projects: create, read, list and delete the repositories a user's tasks run on. */
import { ForbiddenError, ProjectNotFoundError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import { canUseProject, repoLocation, type Project } from './project.js';
import { deleteProject as deleteProjectItem, getProject, listOwnProjects, putProject as putProjectItem } from './project-store.js';
import type { ProjectPut } from './schemas.js';
import type { TaskRepository } from '../tasks/task.js';

/** PUT /projects/{id}: creates the project (the caller owns it) or updates the caller's own. */
export async function putProject(userId: string, projectId: string, body: ProjectPut, now = new Date()): Promise<{ project: Project; created: boolean }> {
  const existing = await getProject(projectId);
  if (existing && !canUseProject(existing, userId)) {
    throw new ForbiddenError(`Project id ${projectId} belongs to someone else; choose another id`);
  }
  const project: Project = {
    id: projectId,
    owner_id: userId,
    name: body.name ?? existing?.name ?? projectId,
    repo_url: body.repo_url,
    default_branch: body.default_branch,
    push: body.push,
    pull_requests: body.pull_requests,
    created_at: existing?.created_at ?? now.toISOString(),
    updated_at: now.toISOString(),
  };
  if (!(await putProjectItem(project, !existing))) {
    throw new ForbiddenError(`Project id ${projectId} belongs to someone else; choose another id`);
  }
  logger.info(existing ? 'project updated' : 'project created', { project_id: projectId, user_id: userId });
  return { project, created: !existing };
}

/** The project if the caller may use it; anyone else's is reported as not found. */
export async function getOwnProject(userId: string, projectId: string): Promise<Project> {
  const project = await getProject(projectId);
  if (!project || !canUseProject(project, userId)) throw new ProjectNotFoundError(projectId);
  return project;
}

export async function listProjects(userId: string, query: { limit: number; cursor?: string }) {
  return listOwnProjects(userId, query);
}

export async function deleteProject(userId: string, projectId: string): Promise<void> {
  if (!(await deleteProjectItem(projectId, userId))) throw new ProjectNotFoundError(projectId);
  logger.info('project deleted', { project_id: projectId, user_id: userId });
}

/**
 * A task's `project_id`: a project the user may use gives the task its repository; another
 * user's project is a 404 PROJECT_NOT_FOUND; an id that names no project stays a plain label.
 */
export async function repositoryForTask(
  userId: string,
  task: { project_id?: string | null; base_ref?: string | null },
): Promise<TaskRepository | null> {
  if (!task.project_id) return null;
  const project = await getProject(task.project_id);
  if (!project) return null;
  if (!canUseProject(project, userId)) throw new ProjectNotFoundError(task.project_id);
  return {
    repo_url: project.repo_url,
    base_ref: task.base_ref ?? project.default_branch,
    push: repoLocation(project.repo_url) === 'local' || project.push,
    pull_requests: project.pull_requests,
  };
}

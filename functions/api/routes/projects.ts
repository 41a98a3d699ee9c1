import { identityOf, json, parseBody, parseWith, type ApiEvent, type ApiResult } from '../../../src/platform/http/api-handler.js';
import { projectListQuerySchema, projectPutSchema } from '../../../src/projects/schemas.js';
import { deleteProject, getOwnProject, listProjects, putProject } from '../../../src/projects/projects.js';
import { idParamSchema } from '../../../src/tasks/schemas.js';

/** PUT /projects/{id}: 201 when created (the caller owns it), 200 when updated. */
export async function put(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const { project, created } = await putProject(userId, id, parseBody(event, projectPutSchema));
  return json(created ? 201 : 200, project);
}

export async function get(event: ApiEvent): Promise<ApiResult> {
  const { id } = parseWith(event.pathParameters, idParamSchema);
  return json(200, await getOwnProject(identityOf(event).userId, id));
}

export async function list(event: ApiEvent): Promise<ApiResult> {
  const query = parseWith(event.queryStringParameters, projectListQuerySchema);
  const { projects, nextCursor } = await listProjects(identityOf(event).userId, query);
  return json(200, projects, nextCursor ? { 'x-next-cursor': nextCursor } : {});
}

export async function remove(event: ApiEvent): Promise<ApiResult> {
  const { id } = parseWith(event.pathParameters, idParamSchema);
  await deleteProject(identityOf(event).userId, id);
  return json(200, { deleted: true });
}

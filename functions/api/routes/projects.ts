import { identityOf, parseBody, parseWith, reply, type ApiEvent, type ApiResult } from '../../../src/platform/http/api-handler.js';
import { projectListQuerySchema, projectPutSchema } from '../../../src/projects/schemas.js';
import { deleteProject, getOwnProject, listProjects, putProject } from '../../../src/projects/projects.js';
import { idParamSchema } from '../../../src/tasks/schemas.js';
import { projectDeletedResponseSchema, projectListResponseSchema, projectResponseSchema } from '../../../src/projects/responses.js';

/** PUT /projects/{id}: 201 when created (the caller owns it), 200 when updated. */
export async function put(event: ApiEvent): Promise<ApiResult> {
  const { userId } = identityOf(event);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const { project, created } = await putProject(userId, id, parseBody(event, projectPutSchema));
  return reply(created ? 201 : 200, projectResponseSchema, project);
}

export async function get(event: ApiEvent): Promise<ApiResult> {
  const { id } = parseWith(event.pathParameters, idParamSchema);
  return reply(200, projectResponseSchema, await getOwnProject(identityOf(event).userId, id));
}

export async function list(event: ApiEvent): Promise<ApiResult> {
  const query = parseWith(event.queryStringParameters, projectListQuerySchema);
  const { projects, nextCursor } = await listProjects(identityOf(event).userId, query);
  return reply(200, projectListResponseSchema, projects, nextCursor ? { 'x-next-cursor': nextCursor } : {});
}

export async function remove(event: ApiEvent): Promise<ApiResult> {
  const { id } = parseWith(event.pathParameters, idParamSchema);
  await deleteProject(identityOf(event).userId, id);
  return reply(200, projectDeletedResponseSchema, { deleted: true });
}

import { routerHandler, type RouteMap } from '../../src/platform/http/api-handler.js';
import { artifactStore, hasArtifactStore } from '../../src/platform/artifact-store.js';
import { installCloudSandboxProviders } from '../../src/sandbox/lambda-providers.js';
import * as taskSandbox from '../api/routes/task-sandbox.js';

/*
 * Route group `sandbox` (src/platform/http/route-table.ts): the task routes that stop or read
 * sandboxes or read task artifacts. The only API function with the S3 client; it has the sandbox
 * providers (cancel terminates the sandbox; the callback opens pull requests for ECS), as has
 * api-schedules for batch cancels.
 */
installCloudSandboxProviders({ artifacts: () => (hasArtifactStore() ? artifactStore() : null) });

export const routes: RouteMap = {
  'DELETE /api/v1/tasks/{id}': taskSandbox.cancel,
  'POST /api/v1/tasks/{id}/complete': taskSandbox.complete,
  'GET /api/v1/tasks/{id}/logs': taskSandbox.logs,
  'GET /api/v1/tasks/{id}/diff': taskSandbox.diff,
};

export const handler = routerHandler(routes);

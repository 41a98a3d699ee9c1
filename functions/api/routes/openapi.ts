import { buildOpenApiDocument, type OpenApiDocument } from '../../../src/contract/openapi.js';
import { openApiDocumentSchema } from '../../../src/platform/wire.js';
import { reply, type ApiResult } from '../../../src/platform/http/api-handler.js';

let document: OpenApiDocument | undefined;

/** GET /api/v1/openapi.json without auth; built once per cold start. */
export async function openapi(): Promise<ApiResult> {
  document ??= buildOpenApiDocument();
  return reply(200, openApiDocumentSchema, document, { 'cache-control': 'public, max-age=300' });
}

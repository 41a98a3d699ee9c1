import { writeFileSync } from 'node:fs';
import { buildOpenApiDocument } from '../src/contract/openapi.js';

/** npm run openapi: writes docs/openapi.json from the zod schemas (a unit test fails when it is stale). */
export const OPENAPI_FILE = 'docs/openapi.json';

export const renderOpenApiDocument = (): string => `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(OPENAPI_FILE, renderOpenApiDocument());
  console.log(`wrote ${OPENAPI_FILE}`);
}

import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/*
 * Checks answers of the running API against docs/openapi.json with a JSON Schema validator:
 * the status must be one the operation documents, the body must validate against its schema
 * (closed objects: an undocumented field fails), and x-next-cursor may only come where documented.
 */

type Json = Record<string, any>;

/** ajv's errors, naming the offending property ("must NOT have additional properties (user_id)"). */
const describe = (errors: ValidateFunction['errors']): string =>
  (errors ?? [])
    .map((error) => `${error.instancePath || 'body'} ${error.message}${error.params && 'additionalProperty' in error.params ? ` (${String(error.params.additionalProperty)})` : ''}`)
    .join('; ');

const DOCUMENT_ID = 'https://nightshift.invalid/openapi.json';

export interface ContractAnswer {
  method: string;
  url: string;
  status: number;
  headers: Headers;
  body: string;
}

export interface ContractChecker {
  /** Problems with one answer; empty when it matches the document. */
  check(answer: ContractAnswer): string[];
}

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as (ajv: Ajv2020) => void;

export function contractChecker(document: Json = JSON.parse(readFileSync('docs/openapi.json', 'utf8'))): ContractChecker {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const defs = JSON.parse(JSON.stringify(document.components.schemas).replaceAll('#/components/schemas/', '#/$defs/'));
  ajv.addSchema({ $id: DOCUMENT_ID, $defs: defs });
  const validators = new Map<string, ValidateFunction>();
  const validatorOf = (ref: string): ValidateFunction => {
    const id = `${DOCUMENT_ID}${ref.replace('#/components/schemas/', '#/$defs/')}`;
    let validate = validators.get(id);
    if (!validate) {
      validate = ajv.getSchema(id);
      if (!validate) throw new Error(`docs/openapi.json has no schema ${ref}`);
      validators.set(id, validate);
    }
    return validate;
  };
  const routes = Object.entries(document.paths as Record<string, Json>).map(([path, item]) => ({
    item,
    pattern: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{\w+\\?\}/g, '[^/]+')}$`),
  }));
  const errorValidator = () => validatorOf('#/components/schemas/Error');

  return {
    check({ method, url, status, headers, body }) {
      const where = `${method} ${new URL(url).pathname} -> ${status}`;
      const pathname = new URL(url).pathname;
      const operation = routes.find((route) => route.pattern.test(pathname))?.item[method.toLowerCase()] as Json | undefined;
      const parse = (): { value?: unknown; problem?: string } => {
        try {
          return { value: JSON.parse(body) };
        } catch {
          return { problem: `${where}: the body is not JSON: ${body.slice(0, 200)}` };
        }
      };
      if (!operation) {
        // Not an operation of the document (an unknown path or method): it must still be a documented error.
        if (status < 400) return [`${where}: answered ${status} for a route the document does not describe`];
        const { value, problem } = parse();
        if (problem) return [problem];
        return errorValidator()(value) ? [] : [`${where}: ${describe(errorValidator().errors)}`];
      }
      const response = operation.responses?.[String(status)] as Json | undefined;
      if (!response) return [`${where}: status ${status} is not documented for ${operation.operationId} (documented: ${Object.keys(operation.responses).join(', ')})`];
      const problems: string[] = [];
      if (headers.get('x-next-cursor') !== null && !response.headers?.['x-next-cursor']) problems.push(`${where}: x-next-cursor is not documented here`);
      const schema = response.content?.['application/json']?.schema as Json | undefined;
      const textTypes = Object.keys(response.content ?? {}).filter((type) => type.startsWith('text/'));
      if (!schema && textTypes.length > 0) {
        const type = headers.get('content-type') ?? '';
        if (!textTypes.some((documented) => type.startsWith(documented))) problems.push(`${where}: content-type is ${type}, not one of ${textTypes.join(', ')}`);
        return problems;
      }
      if (!schema) {
        if (body !== '') problems.push(`${where}: the document describes no body, but one was answered`);
        return problems;
      }
      if (!headers.get('content-type')?.startsWith('application/json')) problems.push(`${where}: content-type is ${headers.get('content-type')}, not application/json`);
      const { value, problem } = parse();
      if (problem) return [...problems, problem];
      const validate = validatorOf(schema.$ref as string);
      if (!validate(value)) problems.push(`${where}: the body does not match ${schema.$ref}: ${describe(validate.errors)}`);
      return problems;
    },
  };
}

import { afterEach, expect } from 'vitest';
import { contractChecker } from './contract.js';

/*
 * Every end-to-end test talks to the local stack through `fetch`; this setup file wraps it so that
 * each answer of the API is checked against docs/openapi.json. A mismatch rejects the call (the
 * test fails where it made the request) and is also reported after the test, in case the test
 * caught the rejection.
 */

const checker = contractChecker();
const problems: string[] = [];
const realFetch = globalThis.fetch;

globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const response = await realFetch(input, init);
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (!/^http:\/\/127\.0\.0\.1:\d+\/api\//.test(url)) return response;
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  const body = await response.clone().text();
  const found = checker.check({ method, url, status: response.status, headers: response.headers, body });
  if (found.length > 0) {
    problems.push(...found);
    throw new Error(`The answer breaks docs/openapi.json:\n${found.join('\n')}`);
  }
  return response;
};

afterEach(() => {
  const found = problems.splice(0);
  expect(found, 'answers that break docs/openapi.json').toEqual([]);
});

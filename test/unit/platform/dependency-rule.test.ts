import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/* The layering in docs/architecture.md is enforced by `npm run lint`; these cases prove it bites. */
const eslint = new ESLint();

async function violations(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'layers/dependency-direction').map((m) => m.message);
}

describe('the dependency rule', () => {
  it.each([
    ['a rule file importing a store', 'src/routing/intent.ts', "import { getTask } from '../tasks/task-store.js';\nexport const f = getTask;\n", /rule file may not import store file/],
    ['a rule file importing a use case', 'src/batches/eta.ts', "import { createTask } from '../tasks/create-task.js';\nexport const f = createTask;\n", /rule file may not import use-case file/],
    ['a rule file importing an AWS client', 'src/credits/pricing.ts', "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nexport const c = DynamoDBClient;\n", /may not import @aws-sdk/],
    ['a rule file reading the clock', 'src/accounts/plans.ts', 'export const now = (): Date => new Date();\n', /may not read the clock/],
    ['a store importing a use case', 'src/tasks/task-store.ts', "import { createTask } from './create-task.js';\nexport const f = createTask;\n", /store file may not import use-case file/],
    ['the platform importing a capability', 'src/platform/logger.ts', "import { getTask } from '../tasks/task-store.js';\nexport const f = getTask;\n", /platform file may not import store file/],
    ['a handler importing a store', 'functions/sweeper/handler.ts', "import { getTask } from '../../src/tasks/task-store.js';\nexport const f = getTask;\n", /entry file may not import store file/],
  ])('fails lint for %s', async (_name, file, code, message) => {
    expect(await violations(file, code)).toEqual([expect.stringMatching(message)]);
  });

  it.each([
    ['a use case importing a store and a rule', 'src/tasks/create-task.ts', "import { getTask } from './task-store.js';\nimport { TERMINAL_STATUSES } from './task.js';\nexport const f = [getTask, TERMINAL_STATUSES];\n"],
    ['a rule taking now from its caller', 'src/accounts/plans.ts', 'export const later = (now: Date): Date => new Date(now.getTime() + 1);\n'],
  ])('allows %s', async (_name, file, code) => {
    expect(await violations(file, code)).toEqual([]);
  });
});

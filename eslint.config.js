import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/*
 * The dependency rule (docs/architecture.md): entry points (functions/, scripts/, lib/, bin/)
 * -> capability use cases -> stores -> platform. Pure rule files import no store, no AWS
 * client, no queue, no logger and no clock. Each file under src/ is one of these layers:
 */
const RULE_FILES = [
  /^src\/accounts\/(plans|billing-window|account|admission)\.ts$/,
  /^src\/batches\/(admission|batch|eta|report|schedule)\.ts$/,
  /^src\/credits\/(pricing|pricing-config|quota-windows|credit-amount)\.ts$/,
  /^src\/routing\/(intent|router|device-wait)\.ts$/,
  /^src\/scheduling\/spawn-timings\.ts$/,
  /^src\/tasks\/(task|callback-token|result-size|retry-policy|waiting)\.ts$/,
  /^src\/projects\/project\.ts$/,
  /^src\/sandbox\/repository-changes\.ts$/,
  /^src\/scheduling\/shards\.ts$/,
  /^src\/notifications\/(events|signature|address-rules|digest|render|delivery-policy|masking)\.ts$/,
  /^src\/overrides\/override-request\.ts$/,
  /^src\/client\/format-duration\.ts$/,
  /^src\/[a-z-]+\/(schemas|responses)\.ts$/,
  /^src\/platform\/(errors|storable-json|wire)\.ts$/,
];

/** @returns {'rule' | 'platform' | 'store' | 'use-case' | 'entry' | 'tooling' | 'test'} */
function layerOf(file) {
  if (RULE_FILES.some((pattern) => pattern.test(file))) return 'rule';
  if (file.startsWith('src/platform/')) return 'platform';
  if (/^src\/.*-store\.ts$/.test(file)) return 'store';
  if (file.startsWith('src/')) return 'use-case';
  if (file.startsWith('test/')) return 'test';
  // The local runtime, bench and chaos harness seed and inspect tables through the stores.
  if (file.startsWith('scripts/')) return 'tooling';
  return 'entry';
}

/** What each layer may import from the repository; anything else is a violation. */
const ALLOWED = {
  rule: ['rule'],
  platform: ['platform', 'rule'],
  store: ['store', 'platform', 'rule'],
  'use-case': ['use-case', 'store', 'platform', 'rule'],
  entry: ['entry', 'use-case', 'platform', 'rule'],
  tooling: ['tooling', 'entry', 'use-case', 'store', 'platform', 'rule'],
  test: ['test', 'tooling', 'entry', 'use-case', 'store', 'platform', 'rule'],
};

/** Packages a pure rule may not reach for: I/O and clients belong to stores and use cases. */
const IMPURE_PACKAGES = /^(@aws-sdk\/|@aws-lambda-powertools\/|node:(fs|child_process|net|http|https|dgram)$)/;

const layers = {
  rules: {
    'dependency-direction': {
      meta: { type: 'problem', schema: [], messages: { layer: '{{from}} file may not import {{to}} file {{spec}} (see docs/architecture.md)', impure: 'pure rule files may not import {{spec}}', clock: 'pure rule files take `now` from their caller; they may not read the clock' } },
      create(context) {
        const root = context.cwd;
        const file = path.relative(root, context.filename).split(path.sep).join('/');
        const from = layerOf(file);
        const check = (node) => {
          const spec = node.source?.value;
          if (typeof spec !== 'string') return;
          if (!spec.startsWith('.')) {
            if (from === 'rule' && IMPURE_PACKAGES.test(spec)) context.report({ node, messageId: 'impure', data: { spec } });
            return;
          }
          const target = path.relative(root, path.resolve(path.dirname(context.filename), spec)).split(path.sep).join('/').replace(/\.js$/, '.ts');
          if (!/\.ts$/.test(target)) return;
          const to = layerOf(target);
          if (!ALLOWED[from].includes(to)) context.report({ node, messageId: 'layer', data: { from, to, spec } });
        };
        const clock = (node) => {
          if (from === 'rule') context.report({ node, messageId: 'clock' });
        };
        return {
          ImportDeclaration: check,
          ExportNamedDeclaration: check,
          ExportAllDeclaration: check,
          ImportExpression: check,
          "NewExpression[callee.name='Date'][arguments.length=0]": clock,
          "CallExpression[callee.object.name='Date'][callee.property.name='now']": clock,
        };
      },
    },
  },
};

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', '.nightshift/', 'coverage/', '**/*.js', '!eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { layers },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
      'layers/dependency-direction': 'error',
      // `import { z }` makes bundlers keep every zod locale (+370 KB in each Lambda bundle).
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[source.value='zod'] > ImportSpecifier[imported.name='z']",
          message: "Use `import * as z from 'zod'`: the named `z` pulls every zod locale into the bundle.",
        },
      ],
    },
  },
  {
    // Tests read JSON answers loosely; production code may not.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);

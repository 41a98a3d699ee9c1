import { describe, expect, it } from 'vitest';
import { pricing } from '../../../src/credits/pricing-config.js';
import { paramsForModel, selectModel, type IntentRules } from '../../../src/routing/intent.js';

describe('selectModel with the configured rules', () => {
  it.each<[string, string, string, Record<string, unknown>]>([
    ['Please refactor this TypeScript function', 'code', 'mistral:7b', { temperature: 0.0 }],
    ['Fix the BUGS in my script', 'code', 'mistral:7b', { temperature: 0.0 }],
    ['Why does this stack\n  trace appear?', 'code', 'mistral:7b', { temperature: 0.0 }],
    ['Help me with coding homework', 'code', 'mistral:7b', { temperature: 0.0 }],
    ['It compiled yesterday', 'code', 'mistral:7b', { temperature: 0.0 }],
    ['Hi, how are you?', 'chat', 'phi3:3.8b', { temperature: 0.15 }],
    ["Let's chat about the weekend", 'chat', 'phi3:3.8b', { temperature: 0.15 }],
    // rules are ordered: code wins over chat
    ['Write code for a chat bot', 'code', 'mistral:7b', { temperature: 0.0 }],
    // whole words only: "hi" is not in "this history", "bug" is not in "debugger"
    ['Tell me about this history book', 'general', 'phi3:3.8b', { temperature: 0.15 }],
    ['Open the debugger', 'general', 'phi3:3.8b', { temperature: 0.15 }],
    ['', 'general', 'phi3:3.8b', { temperature: 0.15 }],
  ])('%j -> %s', (text, intent, model, params) => {
    // Act
    const selection = selectModel(text, pricing().intent);

    // Assess
    expect(selection).toMatchObject({ intent, model, model_params: params });
  });
});

describe('selectModel with custom rules', () => {
  const rules: IntentRules = {
    rules: [
      { intent: 'cpp', keywords: ['c++'], model: 'codellama:13b', model_params: { temperature: 0.1 } },
      { intent: 'translate', keywords: ['translate', 'en français'], model: 'aya:8b', model_params: { top_p: 0.9 } },
    ],
    default: { intent: 'default', model: 'llama3:8b', model_params: {} },
  };

  it.each<[string, string, string | null]>([
    ['Explain C++ templates', 'cpp', 'c++'],
    ['Can you translated this?', 'translate', 'translate'],
    ['Dis-le EN FRANÇAIS', 'translate', 'en français'],
    ['C+ grade', 'default', null],
  ])('%j -> %s', (text, intent, keyword) => {
    const selection = selectModel(text, rules);
    expect(selection.intent).toBe(intent);
    expect(selection.matched_keyword).toBe(keyword);
  });

  it('returns a copy of the parameters, so callers cannot change the configuration', () => {
    // Prepare
    const selection = selectModel('translate this', rules);

    // Act
    selection.model_params.top_p = 0.1;

    // Assess
    expect(selectModel('translate this', rules).model_params).toEqual({ top_p: 0.9 });
  });
});

describe('paramsForModel', () => {
  it.each<[string, Record<string, unknown> | null]>([
    ['mistral:7b', { temperature: 0 }],
    ['phi3:3.8b', { temperature: 0.15 }],
    ['gpt-oss:20b', null],
  ])('%s -> %j', (model, expected) => {
    expect(paramsForModel(model, pricing().intent)).toEqual(expected);
  });
});

/**
 * Intent detection for LLM work that names no model: ordered keyword rules from configuration
 * (e.g. code -> `mistral:7b` at temperature 0.0, chat -> `phi3:3.8b` at 0.15) and a default.
 */

export type ModelParams = Readonly<Record<string, number | string | boolean>>;

export interface IntentRule {
  readonly intent: string;
  readonly keywords: readonly string[];
  readonly model: string;
  readonly model_params: ModelParams;
}

export interface IntentRules {
  /** Tried in order; the first rule with a matching keyword wins. */
  readonly rules: readonly IntentRule[];
  readonly default: Omit<IntentRule, 'keywords'>;
}

export interface ModelSelection {
  model: string;
  model_params: Record<string, number | string | boolean>;
  intent: string;
  /** The keyword that decided, or null when the default applied. */
  matched_keyword: string | null;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A keyword matches as a whole word (or phrase, any whitespace between its words), optionally
 * with a plural or verb ending: "bug" matches "Bugs" but not "debugger", "code" matches "coding";
 * "hi" does not match "this".
 */
function keywordPattern(keyword: string): RegExp {
  const words = keyword.trim().split(/\s+/).map(escapeRegExp).join('\\s+');
  // A final silent "e" drops before "-ing" ("code" -> "coding") and takes a bare "d" ("translated").
  const body = /[a-z]e$/i.test(keyword.trim())
    ? `(?:${words}(?:s|d|ing)?|${words.slice(0, -1)}ing)`
    : `${words}(?:s|es|ed|ing)?`;
  return new RegExp(`(?<![\\p{L}\\p{N}_])${body}(?![\\p{L}\\p{N}_])`, 'iu');
}

const patternCache = new Map<string, RegExp>();
const patternFor = (keyword: string): RegExp => {
  let pattern = patternCache.get(keyword);
  if (!pattern) {
    pattern = keywordPattern(keyword);
    patternCache.set(keyword, pattern);
  }
  return pattern;
};

/** Picks a model for `text` by the first rule whose keyword it contains; the default otherwise. */
export function selectModel(text: string, rules: IntentRules): ModelSelection {
  for (const rule of rules.rules) {
    const keyword = rule.keywords.find((candidate) => patternFor(candidate).test(text));
    if (keyword !== undefined) {
      return { model: rule.model, model_params: { ...rule.model_params }, intent: rule.intent, matched_keyword: keyword };
    }
  }
  const fallback = rules.default;
  return { model: fallback.model, model_params: { ...fallback.model_params }, intent: fallback.intent, matched_keyword: null };
}

/** The parameters configured for `model` (first rule or default naming it), if any. */
export function paramsForModel(model: string, rules: IntentRules): Record<string, number | string | boolean> | null {
  const source = [...rules.rules, rules.default].find((rule) => rule.model === model);
  return source ? { ...source.model_params } : null;
}

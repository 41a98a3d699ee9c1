/**
 * DynamoDB refuses an item over 400 KB. A task's own fields (title, description, input) take
 * part of that; a completion's result fields get what is left, cut down if needed, with a marker
 * saying so, so that a large report never fails its callback. Pure: sizes are measured on JSON.
 */
import type { Task } from './task.js';

/** What a stored task may take, well under DynamoDB's 400 KB to leave room for index keys and names. */
export const TASK_ITEM_BUDGET_BYTES = 350_000;

export interface ResultFields {
  result_summary: string | null;
  files_changed: string[] | null;
  failure_reason: string | null;
}

export interface FittedResult extends ResultFields {
  /** Set when something was cut: what and how much. */
  result_truncated: string | null;
}

const MARKER_RESERVE_BYTES = 256;

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');

/** Cuts `text` to at most `maxBytes` UTF-8 bytes (JSON-escaped), ending with a note. */
function cut(text: string, maxBytes: number, note: string): string {
  if (bytes(text) <= maxBytes) return text;
  const room = Math.max(0, maxBytes - bytes(note));
  let low = 0;
  let high = text.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (bytes(text.slice(0, mid)) <= room) low = mid;
    else high = mid - 1;
  }
  return `${text.slice(0, low)}${note}`;
}

/**
 * The result fields of `task`'s completion, cut so that the whole task stays within
 * TASK_ITEM_BUDGET_BYTES: first the list of files (the first ones kept, then a count), then the
 * summary and the failure reason (their beginnings kept).
 */
export function fitResultToItem(task: Task, result: ResultFields): FittedResult {
  const base = bytes({ ...task, result_summary: null, files_changed: null, failure_reason: null, result_truncated: null });
  if (bytes(result) <= TASK_ITEM_BUDGET_BYTES - base) return { ...result, result_truncated: null };
  // Keep room for the marker itself.
  let room = TASK_ITEM_BUDGET_BYTES - base - MARKER_RESERVE_BYTES;
  const notes: string[] = [];
  const textRoom = (share: number) => Math.max(1024, Math.floor(room * share));
  let files = result.files_changed;
  const summaryAndReason = bytes(result.result_summary) + bytes(result.failure_reason);
  if (files) {
    const filesRoom = Math.max(0, room - Math.min(summaryAndReason, Math.floor(room / 2)));
    const kept: string[] = [];
    let used = 2;
    for (const file of files) {
      if (used + bytes(file) + 1 > filesRoom) break;
      kept.push(file);
      used += bytes(file) + 1;
    }
    if (kept.length < files.length) notes.push(`files_changed: ${files.length - kept.length} of ${files.length} not stored`);
    files = kept;
    room -= bytes(files);
  }
  let summary = result.result_summary;
  let reason = result.failure_reason;
  if (bytes(summary) + bytes(reason) > room) {
    const share = summary && reason ? 0.5 : 1;
    if (summary !== null && bytes(summary) > textRoom(share)) {
      summary = cut(summary, textRoom(share), ' [truncated]');
      notes.push('summary cut');
    }
    if (reason !== null && bytes(reason) > textRoom(share)) {
      reason = cut(reason, textRoom(share), ' [truncated]');
      notes.push('failure_reason cut');
    }
  }
  return {
    result_summary: summary,
    files_changed: files,
    failure_reason: reason,
    result_truncated: notes.length > 0 ? `Stored truncated to fit DynamoDB's item limit: ${notes.join('; ')}` : null,
  };
}

#!/usr/bin/env node
// The default SANDBOX_COMMAND: a stand-in for a real agent CLI, so the local stack shows a task
// going pending -> running -> completed with output, a changed file and a callback. No deps.
/* global process, console, fetch */
import { appendFile, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

const taskId = process.env.NIGHTSHIFT_TASK_ID ?? 'unknown-task';
const title = process.env.NIGHTSHIFT_TASK_TITLE ?? '';
const description = process.env.NIGHTSHIFT_TASK_DESCRIPTION ?? '';
const callbackUrl = process.env.NIGHTSHIFT_CALLBACK_URL;
const callbackToken = process.env.NIGHTSHIFT_CALLBACK_TOKEN;
const seconds = Number(process.env.DEMO_AGENT_SECONDS ?? '4');
const totalMs = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 4000;

const steps = ['Reading the task', 'Planning the change', 'Writing NOTES.md', 'Checking the result'];
if (process.env.NIGHTSHIFT_BRANCH) console.log(`demo-agent: working on branch ${process.env.NIGHTSHIFT_BRANCH}`);

console.log(`demo-agent: task ${taskId}: ${title}`);
for (const [index, step] of steps.entries()) {
  console.log(`demo-agent: [${index + 1}/${steps.length}] ${step}...`);
  await sleep(totalMs / steps.length);
}

const stamp = `Handled by the Nightshift demo agent at ${new Date().toISOString()}.`;
// Appends, so that on a project (NIGHTSHIFT_BRANCH set) each task adds to the repository's notes.
const notes = [`## ${title || 'Untitled task'}`, '', description || '(no description)', '', stamp, '', ''].join('\n');
await appendFile('NOTES.md', notes);
const changed = ['NOTES.md'];

// A file of the checkout named in the description (e.g. "fix the typo in README.md") gets a line too.
for (const word of description.split(/[\s,;:'"`()]+/)) {
  const name = word.replace(/[.!?]+$/, '');
  if (!name || name === 'NOTES.md' || name.startsWith('/') || name.split('/').includes('..') || name.split('/').includes('.git')) continue;
  try {
    const info = await stat(name);
    if (!info.isFile() || info.size > 1_000_000 || changed.includes(name)) continue;
    await appendFile(name, `\n${title ? `${title}: ` : ''}edited by the Nightshift demo agent.\n`);
    changed.push(name);
    console.log(`demo-agent: edited ${name}`);
  } catch {
    // not a file here
  }
}

const summary = `Demo agent changed ${changed.join(', ')} for "${title || taskId}".`;
console.log(`demo-agent: ${summary}`);

if (callbackUrl && callbackToken) {
  // A lost response is harmless to retry: the API ignores a second report for a finished task.
  let reported = false;
  for (let attempt = 1; attempt <= 3 && !reported; attempt++) {
    try {
      const response = await fetch(callbackUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${callbackToken}` },
        body: JSON.stringify({ status: 'completed', summary, files_changed: changed }),
      });
      reported = response.ok;
      if (!reported) console.error(`demo-agent: callback answered HTTP ${response.status}`);
    } catch (error) {
      console.error(`demo-agent: callback failed: ${error instanceof Error ? error.message : error}`);
    }
    if (!reported && attempt < 3) await sleep(500 * attempt);
  }
  if (!reported) console.error('demo-agent: could not report; the sandbox will report the exit instead');
} else {
  console.log('demo-agent: no NIGHTSHIFT_CALLBACK_URL/TOKEN; not reporting');
}

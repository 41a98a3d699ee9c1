#!/usr/bin/env node
/* global process, fetch, AbortSignal, setTimeout, clearTimeout */
/*
 * Nightshift's entry point in an ECS sandbox container (the task definition runs it; the agent
 * image needs node, git and, to keep the patch, the AWS CLI). For a repository task it clones the
 * project into the work dir on a new branch, runs the agent there, then commits what the agent
 * left (author "Nightshift agent"), pushes the branch, uploads the patch and stat to the artifact
 * bucket and reports git's result with the sandbox token. Without a repository it just runs the
 * agent, which reports for itself.
 *
 * Environment (RunTask overrides): NIGHTSHIFT_TASK_ID, NIGHTSHIFT_TASK_TITLE, NIGHTSHIFT_AGENT_COMMAND,
 * NIGHTSHIFT_CALLBACK_URL, NIGHTSHIFT_CALLBACK_TOKEN, NIGHTSHIFT_SANDBOX_TOKEN, NIGHTSHIFT_TIMEOUT_SECONDS,
 * and for a repository NIGHTSHIFT_REPO_URL, NIGHTSHIFT_BASE_REF, NIGHTSHIFT_BRANCH, NIGHTSHIFT_PUSH (1|0);
 * NIGHTSHIFT_ARTIFACTS_BUCKET (task definition); NIGHTSHIFT_GIT_TOKEN and NIGHTSHIFT_GIT_USERNAME
 * from Secrets Manager (the task definition's secrets). The sandbox and git tokens are removed
 * from the environment before the agent starts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = { ...process.env };
const workDir = env.NIGHTSHIFT_WORKDIR || '/workspace/repo';
const secrets = { sandboxToken: env.NIGHTSHIFT_SANDBOX_TOKEN || env.NIGHTSHIFT_CALLBACK_TOKEN || '', gitUser: env.NIGHTSHIFT_GIT_USERNAME || 'x-access-token', gitToken: env.NIGHTSHIFT_GIT_TOKEN || '' };
const repository = env.NIGHTSHIFT_REPO_URL
  ? { url: env.NIGHTSHIFT_REPO_URL, baseRef: env.NIGHTSHIFT_BASE_REF || 'main', branch: env.NIGHTSHIFT_BRANCH || `nightshift/${env.NIGHTSHIFT_TASK_ID}`, push: env.NIGHTSHIFT_PUSH !== '0' }
  : null;
const AUTHOR = ['-c', 'user.name=Nightshift agent', '-c', 'user.email=agent@nightshift.invalid'];
// Hooks the agent plants never run as Nightshift; the token reaches git through a helper that reads it from git's own environment.
const SAFE = ['-c', 'core.hooksPath=/dev/null', '-c', 'commit.gpgsign=false', '-c', 'credential.helper=', '-c', 'credential.helper=!f() { test "$1" = get && echo "username=$NS_GIT_USER" && echo "password=$NS_GIT_TOKEN"; }; f'];

const log = (line) => process.stderr.write(`nightshift: ${line}\n`);

function git(args, cwd = workDir) {
  process.stderr.write(`$ git ${args.join(' ')}\n`);
  try {
    return execFileSync('git', [...SAFE, ...args], {
      cwd,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      env: { ...agentEnv(), NS_GIT_USER: secrets.gitUser, NS_GIT_TOKEN: secrets.gitToken, GIT_TERMINAL_PROMPT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    // git's own words, for the task log (the container's output) and the failure reason.
    if (error.stderr) process.stderr.write(error.stderr);
    throw error;
  }
}

/** What the agent may see: everything but the wrapper's own credentials. */
function agentEnv() {
  const { NIGHTSHIFT_SANDBOX_TOKEN: _s, NIGHTSHIFT_GIT_TOKEN: _g, NIGHTSHIFT_GIT_USERNAME: _u, ...rest } = env;
  return rest;
}

async function report(body) {
  for (let attempt = 1; attempt <= 4; attempt++) {
    try {
      const response = await fetch(env.NIGHTSHIFT_CALLBACK_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${secrets.sandboxToken}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      if (response.ok || (response.status < 500 && response.status !== 429)) return;
    } catch (error) {
      log(`callback failed: ${error.message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
  }
}

function runAgent(command) {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { cwd: workDir, env: { ...agentEnv(), NIGHTSHIFT_WORKDIR: workDir, ...(repository ? { NIGHTSHIFT_BRANCH: repository.branch } : {}) }, stdio: 'inherit' });
    const seconds = Number(env.NIGHTSHIFT_TIMEOUT_SECONDS || 0);
    const timer = seconds > 0 ? setTimeout(() => child.kill('SIGKILL'), seconds * 1000) : undefined;
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

/** `git diff --numstat -z`: files (the new name of a rename) and line counts. */
function numstat(output) {
  const fields = output.split('\0');
  const files = [];
  let insertions = 0;
  let deletions = 0;
  for (let i = 0; i < fields.length; i++) {
    const match = /^(\d+|-)\t(\d+|-)\t(.*)$/s.exec(fields[i] ?? '');
    if (!match) continue;
    insertions += match[1] === '-' ? 0 : Number(match[1]);
    deletions += match[2] === '-' ? 0 : Number(match[2]);
    if (match[3] === '') {
      i += 2;
      if (fields[i]) files.push(fields[i]);
    } else files.push(match[3]);
  }
  return { stat: { files: files.length, insertions, deletions }, files };
}

function upload(key, body, contentType) {
  const bucket = env.NIGHTSHIFT_ARTIFACTS_BUCKET;
  if (!bucket) return;
  const file = join(tmpdir(), `nightshift-${key.replace(/[^A-Za-z0-9.-]/g, '_')}`);
  writeFileSync(file, body);
  try {
    execFileSync('aws', ['s3', 'cp', '--only-show-errors', '--content-type', contentType, file, `s3://${bucket}/${key}`], { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (error) {
    log(`could not upload ${key}: ${error.message}`);
  }
}

async function main() {
  const command = env.NIGHTSHIFT_AGENT_COMMAND || process.argv.slice(2).join(' ');
  if (!command) {
    const reason = 'No agent command: set SANDBOX_COMMAND for the ecs provider (it reaches this container as NIGHTSHIFT_AGENT_COMMAND)';
    log(reason);
    await report({ status: 'failed', error: reason });
    process.exit(2);
  }
  if (!repository) {
    mkdirSync(workDir, { recursive: true });
    process.exit(await runAgent(command));
  }
  let base;
  try {
    mkdirSync(workDir, { recursive: true });
    git(['clone', '--quiet', '--no-checkout', '--', repository.url, workDir], '/');
    const candidates = [`refs/remotes/origin/${repository.baseRef}`, `refs/tags/${repository.baseRef}`, repository.baseRef];
    base = candidates.map((ref) => { try { return git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).trim(); } catch { return ''; } }).find(Boolean);
    if (!base) throw new Error(`the repository has no branch, tag or commit named "${repository.baseRef}"`);
    git(['checkout', '--quiet', '-B', repository.branch, base]);
  } catch (error) {
    const reason = `Could not check out ${repository.url} at ${repository.baseRef}: ${String(error.stderr || error.message).trim().slice(-1000)}`;
    log(reason);
    await report({ status: 'failed', error: reason });
    process.exit(1);
  }
  const exit = await runAgent(command);
  try {
    git(['add', '--all']);
    if (git(['status', '--porcelain']).trim() !== '') git([...AUTHOR, 'commit', '--quiet', '--no-verify', '-m', (env.NIGHTSHIFT_TASK_TITLE || '').trim() || 'Nightshift task']);
    const head = git(['rev-parse', 'HEAD']).trim();
    const counted = numstat(git(['diff', '--numstat', '-z', base, head]));
    upload(`tasks/${env.NIGHTSHIFT_TASK_ID}/patch.diff`, git(['diff', '--binary', base, head]), 'text/x-diff; charset=utf-8');
    upload(`tasks/${env.NIGHTSHIFT_TASK_ID}/diff-stat.txt`, git(['diff', '--stat', base, head]), 'text/plain; charset=utf-8');
    let pushError = null;
    if (repository.push) {
      try {
        git(['push', '--quiet', '--force', 'origin', `${head}:refs/heads/${repository.branch}`]);
      } catch (error) {
        pushError = String(error.stderr || error.message).trim().slice(-1000) || 'push failed';
      }
    }
    const outcome = exit === 0 ? { status: 'completed', summary: `Exited with code 0` } : { status: 'failed', error: `Exited with code ${exit}` };
    await report({ ...outcome, repository: { branch: repository.branch, base_commit: base, head_commit: head, diff_stat: counted.stat, files_changed: counted.files.slice(0, 10_000), push_error: pushError } });
  } catch (error) {
    await report({ status: 'failed', error: `Could not commit the agent's work: ${String(error.stderr || error.message).trim().slice(-1000)}` });
  }
  process.exit(exit);
}

await main();

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
 * from Secrets Manager (the task definition's secrets); NIGHTSHIFT_AGENT_UID / NIGHTSHIFT_AGENT_GID
 * (default 10001). The sandbox and git tokens are deleted from this process's environment at once
 * and never passed to the agent, which runs (when this script runs as root, as the task definition
 * starts it) as that unprivileged user, so it cannot read them from /proc/<pid>/environ either.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, lchownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

// The wrapper's own credentials: read once, then removed from this process's environment, so
// nothing spawned from here inherits them by accident (the agent's environment is built apart).
const OWN_CREDENTIALS = ['NIGHTSHIFT_SANDBOX_TOKEN', 'NIGHTSHIFT_GIT_TOKEN', 'NIGHTSHIFT_GIT_USERNAME'];
// The task role's credentials (the patch upload's): the agent gets none of them.
const AWS_CONTAINER_CREDENTIALS = ['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'];
const secrets = {
  sandboxToken: process.env.NIGHTSHIFT_SANDBOX_TOKEN || process.env.NIGHTSHIFT_CALLBACK_TOKEN || '',
  gitUser: process.env.NIGHTSHIFT_GIT_USERNAME || 'x-access-token',
  gitToken: process.env.NIGHTSHIFT_GIT_TOKEN || '',
};
for (const name of OWN_CREDENTIALS) delete process.env[name];
const env = { ...process.env };
const workDir = env.NIGHTSHIFT_WORKDIR || '/workspace/repo';
const repository = env.NIGHTSHIFT_REPO_URL
  ? { url: env.NIGHTSHIFT_REPO_URL, baseRef: env.NIGHTSHIFT_BASE_REF || 'main', branch: env.NIGHTSHIFT_BRANCH || `nightshift/${env.NIGHTSHIFT_TASK_ID}`, push: env.NIGHTSHIFT_PUSH !== '0' }
  : null;
/**
 * Who the agent runs as. As root (the task definition runs the container as root), the agent and
 * every git command that touches its checkout run as an unprivileged user (NIGHTSHIFT_AGENT_UID /
 * NIGHTSHIFT_AGENT_GID, default 10001), which cannot read this process's memory or
 * /proc/<pid>/environ; only the clone and the push, in a private clone of root's, see the token.
 * Not root (a local run): the agent runs as this user, without that separation.
 */
const isolated = typeof process.getuid === 'function' && process.getuid() === 0;
const agentUser = isolated ? { uid: Number(env.NIGHTSHIFT_AGENT_UID || 10001), gid: Number(env.NIGHTSHIFT_AGENT_GID || env.NIGHTSHIFT_AGENT_UID || 10001) } : null;
const agentHome = env.NIGHTSHIFT_AGENT_HOME || (isolated ? join(dirname(workDir), 'agent-home') : env.HOME || tmpdir());
const AUTHOR = ['-c', 'user.name=Nightshift agent', '-c', 'user.email=agent@nightshift.invalid'];
// Hooks the agent plants never run as Nightshift; the token reaches git through a helper that reads it from git's own environment.
const SAFE = ['-c', 'core.hooksPath=/dev/null', '-c', 'commit.gpgsign=false', '-c', 'core.fsmonitor=false', '-c', 'credential.helper=', '-c', 'credential.helper=!f() { test "$1" = get && echo "username=$NS_GIT_USER" && echo "password=$NS_GIT_TOKEN"; }; f'];

const log = (line) => process.stderr.write(`nightshift: ${line}\n`);

function run(args, cwd, options) {
  process.stderr.write(`$ git ${args.join(' ')}\n`);
  try {
    return execFileSync('git', [...SAFE, ...args], { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'], ...options });
  } catch (error) {
    // git's own words, for the task log (the container's output) and the failure reason.
    if (error.stderr) process.stderr.write(error.stderr);
    throw error;
  }
}

/** git with the git token, as this process: in the private clone, and in the checkout only before the agent has it. */
function git(args, cwd) {
  return run(args, cwd, { env: { ...agentEnv(), HOME: env.HOME || tmpdir(), NS_GIT_USER: secrets.gitUser, NS_GIT_TOKEN: secrets.gitToken, GIT_TERMINAL_PROMPT: '0' } });
}

/** git in the agent's checkout, as the agent's user and without any token: what the agent left is never trusted as root. */
function agentGit(args, cwd = workDir) {
  return run(args, cwd, { env: { ...agentEnv(), HOME: agentHome, GIT_TERMINAL_PROMPT: '0' }, ...(agentUser ?? {}) });
}

/** What the agent may see: everything but the wrapper's own credentials and the task role's. */
function agentEnv() {
  const rest = { ...env };
  for (const name of [...OWN_CREDENTIALS, ...AWS_CONTAINER_CREDENTIALS]) delete rest[name];
  return rest;
}

/** Gives a tree to the agent's user (symbolic links themselves, never what they point at). */
function chownTree(path) {
  if (!agentUser) return;
  lchownSync(path, agentUser.uid, agentUser.gid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) chownTree(child);
    else lchownSync(child, agentUser.uid, agentUser.gid);
  }
}

/**
 * Ends every process of the agent's user (what the agent left running in the background), so
 * nothing of it changes the checkout while Nightshift commits and pushes it.
 */
function stopAgentProcesses() {
  if (!agentUser) return;
  for (let round = 0; round < 10; round++) {
    let found = 0;
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        if (Number(uid) !== agentUser.uid) continue;
        process.kill(Number(pid), 'SIGKILL');
        found++;
      } catch {
        // gone meanwhile
      }
    }
    if (found === 0) return;
    execFileSync('sleep', ['0.1']);
  }
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
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: workDir,
      env: { ...agentEnv(), HOME: agentHome, NIGHTSHIFT_WORKDIR: workDir, ...(repository ? { NIGHTSHIFT_BRANCH: repository.branch } : {}) },
      stdio: 'inherit',
      ...(agentUser ?? {}),
    });
    const seconds = Number(env.NIGHTSHIFT_TIMEOUT_SECONDS || 0);
    const timer = seconds > 0 ? setTimeout(() => child.kill('SIGKILL'), seconds * 1000) : undefined;
    child.on('error', (error) => log(`could not start the agent: ${error.message}`));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      stopAgentProcesses();
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

/** The agent's home and work dir are its own; the rest of the file system stays root's. */
function prepareAgentDirs() {
  mkdirSync(workDir, { recursive: true });
  mkdirSync(agentHome, { recursive: true });
  if (!agentUser) return;
  chownTree(agentHome);
  chownTree(workDir);
  log(`the agent runs as uid ${agentUser.uid}`);
}

/**
 * Brings the agent's head commit into the private clone: as a bundle the agent's user writes
 * (plain data to root, which never runs git in the agent's checkout).
 */
function fetchHead(mirror, base, head) {
  try {
    git(['cat-file', '-e', `${head}^{commit}`], mirror);
    return;
  } catch {
    // new commits: bring them over
  }
  const bundle = join(agentHome, '.nightshift-head.bundle');
  agentGit(['bundle', 'create', bundle, 'HEAD', `^${base}`]);
  git(['fetch', '--quiet', '--no-tags', bundle, '+HEAD:refs/nightshift/head'], mirror);
  rmSync(bundle, { force: true });
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
  writeFileSync(file, body, { mode: 0o600 });
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
    prepareAgentDirs();
    process.exit(await runAgent(command));
  }
  let base;
  // The private clone (0700, this process's own): the only repository git uses the token in.
  const mirror = mkdtempSync(join(tmpdir(), 'nightshift-origin-'));
  chmodSync(mirror, 0o700);
  try {
    git(['clone', '--quiet', '--bare', '--', repository.url, mirror], '/');
    const candidates = [`refs/heads/${repository.baseRef}`, `refs/tags/${repository.baseRef}`, repository.baseRef];
    base = candidates.map((ref) => { try { return git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], mirror).trim(); } catch { return ''; } }).find(Boolean);
    if (!base) throw new Error(`the repository has no branch, tag or commit named "${repository.baseRef}"`);
    // The agent's checkout: a copy without hard links to the private clone, on the task's branch.
    git(['clone', '--quiet', '--no-checkout', '--no-hardlinks', '--', mirror, workDir], '/');
    git(['remote', 'set-url', 'origin', repository.url], workDir);
    git(['checkout', '--quiet', '-B', repository.branch, base], workDir);
    prepareAgentDirs();
  } catch (error) {
    const reason = `Could not check out ${repository.url} at ${repository.baseRef}: ${String(error.stderr || error.message).trim().slice(-1000)}`;
    log(reason);
    await report({ status: 'failed', error: reason });
    rmSync(mirror, { recursive: true, force: true });
    process.exit(1);
  }
  const exit = await runAgent(command);
  try {
    agentGit(['add', '--all']);
    if (agentGit(['status', '--porcelain']).trim() !== '') agentGit([...AUTHOR, 'commit', '--quiet', '--no-verify', '-m', (env.NIGHTSHIFT_TASK_TITLE || '').trim() || 'Nightshift task']);
    const head = agentGit(['rev-parse', 'HEAD']).trim();
    const diff = ['diff', '--no-ext-diff', '--no-textconv'];
    const counted = numstat(agentGit([...diff, '--numstat', '-z', base, head]));
    upload(`tasks/${env.NIGHTSHIFT_TASK_ID}/patch.diff`, agentGit([...diff, '--binary', base, head]), 'text/x-diff; charset=utf-8');
    upload(`tasks/${env.NIGHTSHIFT_TASK_ID}/diff-stat.txt`, agentGit([...diff, '--stat', base, head]), 'text/plain; charset=utf-8');
    let pushError = null;
    if (repository.push) {
      try {
        fetchHead(mirror, base, head);
        git(['push', '--quiet', '--force', 'origin', `${head}:refs/heads/${repository.branch}`], mirror);
      } catch (error) {
        pushError = String(error.stderr || error.message).trim().slice(-1000) || 'push failed';
      }
    }
    const outcome = exit === 0 ? { status: 'completed', summary: `Exited with code 0` } : { status: 'failed', error: `Exited with code ${exit}` };
    await report({ ...outcome, repository: { branch: repository.branch, base_commit: base, head_commit: head, diff_stat: counted.stat, files_changed: counted.files.slice(0, 10_000), push_error: pushError } });
  } catch (error) {
    await report({ status: 'failed', error: `Could not commit the agent's work: ${String(error.stderr || error.message).trim().slice(-1000)}` });
  }
  rmSync(mirror, { recursive: true, force: true });
  process.exit(exit);
}

await main();

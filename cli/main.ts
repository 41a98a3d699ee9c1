import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { createNightshiftClient, NightshiftApiError, type NightshiftClient, type Task, type TaskCreate, type BatchCreate } from '../src/client/client.js';
import { configPath, readConfig, resolveConfig, writeConfig, type StoredConfig } from './config.js';
import { batchProgressLine, batchReportText, deadlineAnswer, queueStatusText, styleFor, table, taskDetails, taskTable } from './format.js';

/*
 * `nightshift`: queue, watch and report from a terminal, on the typed client. Exit codes:
 * 0 success, 1 an API error or watched work that did not all complete, 2 wrong usage.
 */

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = styleFor(process.stdout, process.env);
const POLL_MS = Number(process.env.NIGHTSHIFT_POLL_MS ?? 1000);
const TERMINAL: ReadonlySet<Task['status']> = new Set(['completed', 'failed', 'cancelled']);

class UsageError extends Error {}

function client(): NightshiftClient {
  const config = resolveConfig(process.env, readConfig(configPath()));
  return createNightshiftClient({ baseUrl: config.apiUrl, token: config.token, apiKey: config.apiKey });
}

const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const printJson = (value: unknown): void => print(JSON.stringify(value, null, 2));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const int = (name: string) => (value: string) => {
  const number = Number(value);
  if (!Number.isFinite(number)) throw new UsageError(`${name} must be a number, not "${value}"`);
  return number;
};

/** The submit/estimate options, shared so both take the same fields. */
function taskOptions(command: Command): Command {
  return command
    .argument('<title>', 'what the agent should do')
    .option('-d, --description <text>', 'longer instructions')
    .option('-p, --priority <1-4>', '1 most urgent .. 4 (default 3)', int('--priority'))
    .option('--project <id>', 'the project (repository) to run on')
    .option('--space <id>', 'the space whose credits it uses')
    .option('--not-before <time>', 'ISO time before which it may not start, e.g. 2026-10-26T01:00:00Z')
    .option('--estimated-minutes <n>', 'how long you expect it to run', int('--estimated-minutes'))
    .addOption(new Option('--prefer <where>', 'where to run it').choices(['local', 'remote', 'auto', 'cost_optimized', 'performance_optimized']));
}

interface TaskFlags {
  description?: string;
  priority?: number;
  project?: string;
  space?: string;
  notBefore?: string;
  estimatedMinutes?: number;
  prefer?: TaskCreate['execution_preference'];
}

const taskBody = (title: string, flags: TaskFlags): TaskCreate => ({
  title,
  ...(flags.description !== undefined ? { description: flags.description } : {}),
  ...(flags.priority !== undefined ? { priority: flags.priority } : {}),
  ...(flags.project ? { project_id: flags.project } : {}),
  ...(flags.space ? { space_id: flags.space } : {}),
  ...(flags.notBefore ? { not_before: flags.notBefore } : {}),
  ...(flags.estimatedMinutes !== undefined ? { estimated_minutes: flags.estimatedMinutes } : {}),
  ...(flags.prefer ? { execution_preference: flags.prefer } : {}),
});

const estimateText = (estimate: Awaited<ReturnType<NightshiftClient['estimateTask']>>): string =>
  table(
    ['ROUTE', 'CREDITS', 'DURATION', 'QUOTA'],
    [[estimate.execution_location + (estimate.executor_id ? ` (${estimate.executor_id})` : ''), String(estimate.estimated_credits), `${Math.round(estimate.estimated_duration_ms / 1000)} s`, `${estimate.quota_status}: ${estimate.quota_message}`]],
  ) + `\n${estimate.rationale}`;

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new UsageError('cannot ask for confirmation without a terminal; add --yes');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(`${question} [y/N] `);
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

/** Redraws one line in place on a TTY; elsewhere prints a line only when it changes. */
function liveLine() {
  let last = '';
  return {
    show(text: string) {
      if (text === last) return;
      last = text;
      if (out.color && process.stdout.isTTY) process.stdout.write(`\r\u001b[K${text}`);
      else print(text);
    },
    end() {
      if (out.color && process.stdout.isTTY && last) process.stdout.write('\n');
    },
  };
}

const program = new Command('nightshift')
  .description('Queue, watch and report Nightshift tasks from a terminal.')
  .showHelpAfterError('(add --help for usage)')
  .addHelpText(
    'after',
    `
Examples:
  $ nightshift login --local alice
  $ nightshift submit "Fix the flaky login test" -p 2
  $ nightshift batch examples/tonight.yaml
  $ nightshift watch --batch <batch-id>
  $ nightshift report <batch-id>
  $ nightshift override request <space> --credits 50 --reason "launch week"

Configuration: $XDG_CONFIG_HOME/nightshift/config.json (written by login, mode 0600);
NIGHTSHIFT_API_URL, NIGHTSHIFT_TOKEN and NIGHTSHIFT_API_KEY take precedence.
Exit codes: 0 success, 1 an API error or watched work that did not all complete, 2 wrong usage.`,
  );

program
  .command('login')
  .description('Store the API URL and a credential in the config file')
  .option('--url <url>', 'the API URL (default $NIGHTSHIFT_API_URL, else the saved one, else http://127.0.0.1:3000)')
  .option('--api-key <key>', 'an API key')
  .option('--token <jwt>', 'a bearer token')
  .option('--local <user>', 'mint a token for <user> from the local stack (as npm run token does)')
  .option('--admin', 'with --local: the token carries the admin group')
  .addHelpText('after', '\nExamples:\n  $ nightshift login --local alice\n  $ nightshift login --url https://api.example.com --api-key nsk_...')
  .action(async (flags: { url?: string; apiKey?: string; token?: string; local?: string; admin?: boolean }) => {
    const given = [flags.apiKey, flags.token, flags.local].filter(Boolean).length;
    if (given !== 1) throw new UsageError('give exactly one of --api-key, --token or --local <user>');
    const stored: StoredConfig = { api_url: flags.url ?? process.env.NIGHTSHIFT_API_URL ?? readConfig(configPath()).api_url ?? 'http://127.0.0.1:3000' };
    if (flags.apiKey) stored.api_key = flags.apiKey;
    if (flags.token) stored.token = flags.token;
    if (flags.local) {
      const minted = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), join(REPO_ROOT, 'scripts/token.ts'), flags.local, ...(flags.admin ? ['--admin'] : [])], { encoding: 'utf8', cwd: process.cwd() });
      if (minted.status !== 0) throw new UsageError(minted.stderr.trim() || 'could not mint a local token');
      stored.token = minted.stdout.trim();
    }
    const limits = await createNightshiftClient({ baseUrl: stored.api_url!, token: stored.token, apiKey: stored.api_key }).myLimits();
    writeConfig(configPath(), stored);
    print(`Logged in as ${limits.user_id} at ${stored.api_url} (saved to ${configPath()})`);
  });

taskOptions(program.command('submit').description('Queue a task; prints its id and queue position'))
  .option('--estimate', 'show the route and cost estimate first and ask to confirm')
  .option('-y, --yes', 'with --estimate: do not ask')
  .option('--json', "print the API's JSON")
  .addHelpText('after', '\nExamples:\n  $ nightshift submit "Refactor the billing module" -d "keep the API" -p 2\n  $ nightshift submit "Send the report" --prefer local --estimate --yes')
  .action(async (title: string, flags: TaskFlags & { estimate?: boolean; yes?: boolean; json?: boolean }) => {
    const api = client();
    const body = taskBody(title, flags);
    if (flags.estimate) {
      print(estimateText(await api.estimateTask(body)));
      if (!flags.yes && !(await confirm('Queue it?'))) {
        print('Not queued.');
        return;
      }
    }
    const task = await api.createTask(body);
    if (flags.json) return printJson(task);
    print(`Queued ${task.id}${task.queue_position ? ` (position ${task.queue_position})` : ''}${task.blocked_reason ? ` — waiting: ${task.blocked_reason}` : ''}`);
  });

taskOptions(program.command('estimate').description('Where a task would run and what it would cost (writes nothing)'))
  .option('--json', "print the API's JSON")
  .addHelpText('after', '\nExample:\n  $ nightshift estimate "Summarise my inbox" --prefer cost_optimized')
  .action(async (title: string, flags: TaskFlags & { json?: boolean }) => {
    const estimate = await client().estimateTask(taskBody(title, flags));
    if (flags.json) printJson(estimate);
    else print(estimateText(estimate));
  });

program
  .command('batch')
  .argument('<file>', 'a YAML or JSON file: name, tasks, not_before, deadline, schedule; or `rerun-failed`')
  .argument('[batch-id]', 'with rerun-failed: the batch whose failed tasks to queue again')
  .description('Create a batch from a file (prints the deadline answer), or `batch rerun-failed <batch-id>`: queue the failed tasks of its latest run again')
  .option('--occurrence <key>', 'with rerun-failed: the run to take the failed tasks from (default: the latest)')
  .option('--json', "print the API's JSON")
  .addHelpText('after', '\nExamples:\n  $ nightshift batch examples/tonight.yaml\n  $ nightshift batch rerun-failed <batch-id>')
  .action(async (file: string, batchId: string | undefined, flags: { json?: boolean; occurrence?: string }) => {
    if (file === 'rerun-failed') {
      if (!batchId) throw new UsageError('give the batch id: nightshift batch rerun-failed <batch-id>');
      const rerun = await client().rerunFailed(batchId, flags.occurrence ? { occurrence: flags.occurrence } : {});
      if (flags.json) return printJson(rerun);
      print(`Batch ${rerun.id}: ${rerun.tasks.length} failed ${rerun.tasks.length === 1 ? 'task' : 'tasks'} queued again as run ${rerun.occurrence?.key ?? ''}`);
      for (const task of rerun.tasks) print(`  ${task.id}  ${task.title}  (rerun of ${task.rerun_of ?? '-'})`);
      print(`Watch it: nightshift watch --batch ${rerun.id}`);
      return;
    }
    if (batchId) throw new UsageError(`unexpected argument ${batchId}`);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new UsageError(`cannot read ${file}`);
    }
    let body: BatchCreate;
    try {
      body = (extname(file) === '.json' ? JSON.parse(text) : parseYaml(text)) as BatchCreate;
    } catch (error) {
      throw new UsageError(`${file} is not valid ${extname(file) === '.json' ? 'JSON' : 'YAML'}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const batch = await client().createBatch(body);
    if (flags.json) return printJson(batch);
    print(`Batch ${batch.id} "${batch.name}": ${batch.task_count} tasks queued`);
    const answer = deadlineAnswer(batch);
    if (answer) print(answer);
    print(`Watch it: nightshift watch --batch ${batch.id}`);
  });

program
  .command('rerun')
  .argument('<task-id>', 'a completed, failed or cancelled task')
  .description('Queue a finished task again (rerun_of points back); flags override its fields')
  .option('-t, --title <title>', 'another title')
  .option('-d, --description <text>', 'another description')
  .option('-p, --priority <n>', '1 (most urgent) .. 4', (value) => Number(value))
  .option('--attempts <n>', 'max_attempts, 1-5', (value) => Number(value))
  .option('--json', "print the API's JSON")
  .addHelpText('after', '\nExamples:\n  $ nightshift rerun <task-id>\n  $ nightshift rerun <task-id> -d "use the new fixtures" --attempts 3')
  .action(async (taskId: string, flags: { title?: string; description?: string; priority?: number; attempts?: number; json?: boolean }) => {
    const body = {
      ...(flags.title !== undefined ? { title: flags.title } : {}),
      ...(flags.description !== undefined ? { description: flags.description } : {}),
      ...(flags.priority !== undefined ? { priority: flags.priority } : {}),
      ...(flags.attempts !== undefined ? { max_attempts: flags.attempts } : {}),
    };
    const task = await client().rerunTask(taskId, body);
    if (flags.json) return printJson(task);
    print(`Queued ${task.id} (rerun of ${taskId})${task.queue_position ? `, position ${task.queue_position}` : ''}${task.waiting_message ? ` — ${task.waiting_message}` : ''}`);
  });

program
  .command('status')
  .description('Your queue: running and pending against the plan, and why the next task waits')
  .option('--json', "print the API's JSON")
  .action(async (flags: { json?: boolean }) => {
    const status = await client().queueStatus();
    if (flags.json) return printJson(status);
    print(queueStatusText(status));
  });

program
  .command('ls')
  .description('A table of your tasks (newest first)')
  .addOption(new Option('--status <status>', 'only tasks in this status').choices(['pending', 'claimed', 'running', 'completed', 'failed', 'cancelled']))
  .option('--all', 'every page, not only the latest 20')
  .option('--json', "print the API's JSON")
  .addHelpText('after', '\nExamples:\n  $ nightshift ls --status running\n  $ nightshift ls --all --json | jq length')
  .action(async (flags: { status?: Task['status']; all?: boolean; json?: boolean }) => {
    const api = client();
    const tasks: Task[] = [];
    if (flags.all) for await (const task of api.allTasks({ status: flags.status, limit: 100 })) tasks.push(task);
    else tasks.push(...(await api.listTasks({ status: flags.status })).items);
    if (flags.json) printJson(tasks);
    else print(taskTable(tasks, out, new Date()));
  });

program
  .command('show')
  .argument('<id>', 'task id')
  .description('One task')
  .option('--json', "print the API's JSON")
  .action(async (id: string, flags: { json?: boolean }) => {
    const task = await client().getTask(id);
    if (flags.json) printJson(task);
    else print(taskDetails(task, out));
  });

program
  .command('cancel')
  .argument('<id>', 'task id')
  .description("Cancel a task (a running task's sandbox is stopped)")
  .option('--json', "print the API's JSON")
  .action(async (id: string, flags: { json?: boolean }) => {
    const answer = await client().cancelTask(id);
    if (flags.json) printJson(answer);
    else print(`Cancelled ${id}`);
  });

program
  .command('logs')
  .argument('<id>', 'task id')
  .description("The tail of a task's output")
  .option('-f, --follow', 'keep printing new output until the task ends')
  .option('--json', "print the API's JSON")
  .action(async (id: string, flags: { follow?: boolean; json?: boolean }) => {
    const api = client();
    let printed = '';
    for (;;) {
      const logs = await api.taskLogs(id);
      if (flags.json) return printJson(logs);
      const text = logs.logs;
      process.stdout.write(text.startsWith(printed) ? text.slice(printed.length) : text);
      printed = text;
      if (!flags.follow || TERMINAL.has((await api.getTask(id)).status)) break;
      await sleep(POLL_MS);
    }
    if (printed && !printed.endsWith('\n')) process.stdout.write('\n');
  });

program
  .command('watch')
  .argument('[id]', 'a task id')
  .option('--batch <id>', 'watch a batch instead')
  .description('Live view until the work ends; exits 0 if all completed, 1 otherwise')
  .addHelpText('after', '\nExamples:\n  $ nightshift watch --batch <batch-id>\n  $ nightshift watch <task-id>')
  .action(async (id: string | undefined, flags: { batch?: string }) => {
    if (Boolean(id) === Boolean(flags.batch)) throw new UsageError('give a task id or --batch <id>');
    const api = client();
    const line = liveLine();
    const started = Date.now();
    for (;;) {
      if (flags.batch) {
        const batch = await api.getBatch(flags.batch);
        line.show(batchProgressLine(batch, Date.now() - started, out));
        if (batch.progress.finished && batch.progress.total > 0) {
          line.end();
          process.exitCode = batch.progress.completed === batch.progress.total ? 0 : 1;
          return;
        }
      } else {
        const task = await api.getTask(id!);
        line.show(`${task.title}: ${task.status}${task.queue_position ? ` (position ${task.queue_position})` : ''}`);
        if (TERMINAL.has(task.status)) {
          line.end();
          if (task.result_summary || task.failure_reason) print(task.result_summary ?? task.failure_reason ?? '');
          process.exitCode = task.status === 'completed' ? 0 : 1;
          return;
        }
      }
      await sleep(POLL_MS);
    }
  });

program
  .command('report')
  .argument('<batch>', 'batch id')
  .option('--occurrence <key>', 'a run of a recurring batch (default: the latest)')
  .option('--json', "print the API's JSON")
  .description("The morning report: each task's outcome, summary, times, hours and credits; totals")
  .action(async (batchId: string, flags: { occurrence?: string; json?: boolean }) => {
    const report = await client().batchReport(batchId, flags.occurrence);
    if (flags.json) printJson(report);
    else print(batchReportText(report, out));
  });

program
  .command('diff')
  .argument('<id>', 'task id')
  .option('--stat', "git's --stat instead of the patch")
  .description("A repository task's patch (apply it with git apply)")
  .addHelpText('after', '\nExamples:\n  $ nightshift diff <task-id> | git apply\n  $ nightshift diff <task-id> --stat')
  .action(async (id: string, flags: { stat?: boolean }) => {
    const text = await client().taskDiff(id, { stat: flags.stat });
    process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  });

const project = program.command('project').description('Projects: the repositories tasks start from');
project
  .command('set')
  .argument('<id>', 'project id (yours to choose)')
  .requiredOption('--repo <url>', 'a local path, file:// URL, https:// or ssh address')
  .option('--name <name>', 'a name for people (default: the id)')
  .option('--branch <branch>', 'the branch tasks start from (default main)')
  .option('--push', 'push each task branch (remote repositories)')
  .option('--pull-requests', 'open a draft pull request for each task branch')
  .option('--json', "print the API's JSON")
  .description('Create or update a project')
  .addHelpText('after', '\nExamples:\n  $ nightshift project set my-app --repo ~/code/my-app\n  $ nightshift submit "Polish the README" --project my-app')
  .action(async (id: string, flags: { repo: string; name?: string; branch?: string; push?: boolean; pullRequests?: boolean; json?: boolean }) => {
    const saved = await client().putProject(id, {
      name: flags.name ?? id,
      // A relative path means one on this machine, from where the command runs.
      repo_url: /^(\/|[a-z][a-z0-9+.-]*:\/\/|[^/@\s]+@[^:\s]+:)/i.test(flags.repo) ? flags.repo : resolve(flags.repo),
      ...(flags.branch ? { default_branch: flags.branch } : {}),
      push: flags.push ?? false,
      pull_requests: flags.pullRequests ?? false,
    });
    if (flags.json) printJson(saved);
    else print(`Project ${saved.id}: ${saved.repo_url} (${saved.default_branch})${saved.push ? ', push' : ''}${saved.pull_requests ? ', pull requests' : ''}`);
  });
project
  .command('ls')
  .option('--json', "print the API's JSON")
  .description('Your projects')
  .action(async (flags: { json?: boolean }) => {
    const list: Array<Awaited<ReturnType<NightshiftClient['getProject']>>> = [];
    for await (const item of client().allProjects()) list.push(item);
    if (flags.json) printJson(list);
    else print(list.length === 0 ? 'No projects.' : table(['ID', 'NAME', 'REPOSITORY', 'BRANCH', 'PUSH', 'PRS'], list.map((p) => [p.id, p.name, p.repo_url, p.default_branch, p.push ? 'yes' : 'no', p.pull_requests ? 'yes' : 'no'])));
  });
project
  .command('rm')
  .argument('<id>', 'project id')
  .option('--json', "print the API's JSON")
  .description('Delete a project (its tasks keep their branches)')
  .action(async (id: string, flags: { json?: boolean }) => {
    const answer = await client().deleteProject(id);
    if (flags.json) printJson(answer);
    else print(`Deleted project ${id}`);
  });

program
  .command('quota')
  .argument('[space]', 'space id (default: your personal space)')
  .option('--json', "print the API's JSON")
  .description("A space's weekly and monthly credits")
  .action(async (space: string | undefined, flags: { json?: boolean }) => {
    const api = client();
    const quota = await api.spaceQuota(space ?? `personal:${(await api.myLimits()).user_id}`);
    if (flags.json) return printJson(quota);
    const limit = (value: number | null) => (value === null ? 'no limit' : String(value));
    print(
      table(
        ['WINDOW', 'USED', 'LIMIT', 'REMAINING', 'RESETS'],
        [
          ['weekly', String(quota.weekly.used), limit(quota.weekly.limit), limit(quota.weekly.remaining), quota.weekly.resets_at],
          ['monthly', String(quota.monthly.used), limit(quota.monthly.limit), limit(quota.monthly.remaining), quota.monthly.resets_at],
        ],
      ) + `\n${quota.status}: ${quota.message}`,
    );
  });

program
  .command('spaces')
  .option('--json', "print the API's JSON")
  .description('The spaces you own or are a member of (see one with `nightshift quota <space>`)')
  .action(async (flags: { json?: boolean }) => {
    const spaces = [];
    for await (const space of client().allSpaces({ limit: 100 })) spaces.push(space);
    if (flags.json) return printJson(spaces);
    const limit = (value: number | null | undefined) => (value === null || value === undefined ? 'no limit' : String(value));
    print(
      spaces.length === 0
        ? 'No spaces besides your personal one. Make one with PUT /api/v1/spaces/{id}.'
        : table(
            ['ID', 'NAME', 'OWNER', 'MEMBERS', 'MONTHLY LIMIT', 'WEEKLY LIMIT'],
            spaces.map((s) => [s.id, s.name, s.owner_id, String(s.members.length), limit(s.quota?.monthly_limit), limit(s.quota?.weekly_limit)]),
          ),
    );
  });

program
  .command('limits')
  .option('--json', "print the API's JSON")
  .description('Your plan, its limits and this month’s agent-hours')
  .action(async (flags: { json?: boolean }) => {
    const limits = await client().myLimits();
    if (flags.json) return printJson(limits);
    print(
      [
        `user        ${limits.user_id}`,
        `plan        ${limits.plan}`,
        `agents      ${limits.max_concurrent_agents} at once, ${limits.max_task_duration_minutes} min each, ${limits.max_pending_tasks} pending at most`,
        `hours       ${limits.monthly_agent_hours_used} used of ${limits.monthly_agent_hours_limit ?? 'unlimited'} (resets ${limits.billing_cycle_resets_at})`,
      ].join('\n'),
    );
  });

const keys = program.command('keys').description('API keys');
keys
  .command('create')
  .argument('<name>', 'a name to recognise it by')
  .option('--expires-at <time>', 'ISO time when it stops working')
  .option('--json', "print the API's JSON")
  .action(async (name: string, flags: { expiresAt?: string; json?: boolean }) => {
    const key = await client().createApiKey({ name, ...(flags.expiresAt ? { expires_at: flags.expiresAt } : {}) });
    if (flags.json) printJson(key);
    else print(`${key.key}\n(shown once; id ${key.id})`);
  });
keys
  .command('ls')
  .option('--json', "print the API's JSON")
  .action(async (flags: { json?: boolean }) => {
    const list = await client().listApiKeys();
    if (flags.json) printJson(list);
    else print(list.length === 0 ? 'No API keys.' : table(['NAME', 'PREFIX', 'STATUS', 'CREATED', 'EXPIRES', 'ID'], list.map((k) => [k.name, k.prefix, k.status, k.created_at, k.expires_at ?? 'never', k.id])));
  });
keys
  .command('revoke')
  .argument('<id>', 'key id')
  .option('--json', "print the API's JSON")
  .action(async (id: string, flags: { json?: boolean }) => {
    const answer = await client().revokeApiKey(id);
    if (flags.json) printJson(answer);
    else print(`Revoked ${id}`);
  });

const NOTIFICATION_EVENTS = ['task.completed', 'task.failed', 'batch.run_finished', 'quota.warning', 'quota.blocked', 'digest'] as const;
type NotificationEventName = (typeof NOTIFICATION_EVENTS)[number];
const isEventName = (value: string): value is NotificationEventName => (NOTIFICATION_EVENTS as readonly string[]).includes(value);
const notifications = program.command('notifications').description('Webhooks, the morning digest, and what was delivered');
notifications
  .command('set')
  .description('Replace your notification channels (every --webhook gets the --events)')
  .option('--webhook <url>', 'a webhook URL (repeatable; hooks.slack.com gets Slack messages)', (url: string, all: string[]) => [...all, url], [] as string[])
  .option('--events <list>', `comma-separated, of ${NOTIFICATION_EVENTS.join(', ')}`, NOTIFICATION_EVENTS.join(','))
  .option('--digest-at <HH:MM>', 'local time of the morning digest')
  .option('--timezone <zone>', 'IANA zone of --digest-at', Intl.DateTimeFormat().resolvedOptions().timeZone)
  .option('--rotate-secret', 'mint a new signing secret (shown once)')
  .option('--json', "print the API's JSON")
  .action(async (flags: { webhook: string[]; events: string; digestAt?: string; timezone: string; rotateSecret?: boolean; json?: boolean }) => {
    const events = flags.events.split(',').map((event) => event.trim()).filter(Boolean);
    const unknown = events.filter((event) => !isEventName(event));
    if (unknown.length > 0) throw new UsageError(`unknown event ${unknown.join(', ')}; use ${NOTIFICATION_EVENTS.join(', ')}`);
    const chosen = events.filter(isEventName);
    // Without a digest time there is no digest to subscribe to.
    const forWebhooks = flags.digestAt ? chosen : chosen.filter((event) => event !== 'digest');
    const answer = await client().putNotificationSettings({
      webhooks: flags.webhook.map((url) => ({ url, events: forWebhooks })),
      email: null,
      digest_at: flags.digestAt ?? null,
      timezone: flags.timezone,
      rotate_secret: flags.rotateSecret ?? false,
    });
    if (flags.json) return printJson(answer);
    print(
      [
        `${answer.webhooks.length} webhook(s); digest ${answer.digest_at ? `at ${answer.digest_at} ${answer.timezone} (next ${answer.next_digest_at ?? 'none'})` : 'off'}`,
        ...(answer.signing_secret ? [`signing secret: ${answer.signing_secret}`, '(shown once: verify Nightshift-Signature with it)'] : [`signing secret: ${answer.secret_hint ?? 'none'}`]),
      ].join('\n'),
    );
  });
notifications
  .command('show')
  .option('--json', "print the API's JSON")
  .action(async (flags: { json?: boolean }) => {
    const settings = await client().getNotificationSettings();
    if (flags.json) return printJson(settings);
    const hooks = settings.webhooks.length === 0 ? 'No webhooks.' : table(['ID', 'URL', 'SLACK', 'EVENTS'], settings.webhooks.map((w) => [w.id, w.url, w.slack ? 'yes' : 'no', w.events.join(',')]));
    print(`${hooks}\ndigest ${settings.digest_at ? `at ${settings.digest_at} ${settings.timezone}, next ${settings.next_digest_at ?? 'none'}` : 'off'}\nsigning secret ${settings.secret_hint ?? 'none'}`);
  });
notifications
  .command('deliveries')
  .option('--limit <n>', 'how many (1-100)', '20')
  .option('--json', "print the API's JSON")
  .action(async (flags: { limit: string; json?: boolean }) => {
    const { deliveries } = await client().listNotificationDeliveries(Number(flags.limit));
    if (flags.json) return printJson(deliveries);
    print(
      deliveries.length === 0
        ? 'No deliveries yet.'
        : table(
            ['CREATED', 'EVENT', 'TARGET', 'STATUS', 'ATTEMPTS', 'LAST', 'NEXT'],
            deliveries.map((d) => [d.created_at, d.event, d.target, d.status, String(d.attempts), d.last_error ?? (d.last_status_code === null ? '' : String(d.last_status_code)), d.next_attempt_at ?? '']),
          ),
    );
  });

type OverrideRequest = Awaited<ReturnType<NightshiftClient['requestOverride']>>;

const overrideRequestTable = (requests: OverrideRequest[]): string =>
  requests.length === 0
    ? 'No override requests.'
    : table(
        ['ID', 'SPACE', 'USER', 'CREDITS', 'STATUS', 'ASKED', 'REASON'],
        requests.map((r) => [r.request_id, r.space_id, r.user_id, String(r.credits), r.status + (r.decided_by ? ` by ${r.decided_by}` : ''), r.created_at, r.reason]),
      );

const positiveCredits = (value: string): number => {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new UsageError(`--credits must be a number above 0, not "${value}"`);
  return number;
};

const override = program
  .command('override')
  .description("Ask for credits above a space's monthly hard limit; admins list, grant and decline")
  .addHelpText(
    'after',
    '\nExamples:\n  $ nightshift override request research --credits 50 --reason "launch week"\n  $ nightshift override list --status pending\n  $ nightshift override grant <request-id> --space research --credits 50 --expires-at 2026-11-01T00:00:00Z\n  $ nightshift override decline <request-id> --reason "budget spent"',
  );
override
  .command('request')
  .argument('<space>', 'the space at its limit')
  .requiredOption('--credits <n>', 'how many credits to ask for', positiveCredits)
  .requiredOption('--reason <text>', 'why (admins read it)')
  .option('--json', "print the API's JSON")
  .description('Ask admins for an override (owner or member of the space)')
  .action(async (space: string, flags: { credits: number; reason: string; json?: boolean }) => {
    const request = await client().requestOverride(space, { credits: flags.credits, reason: flags.reason });
    if (flags.json) return printJson(request);
    print(`Asked for ${request.credits} credits in ${request.space_id}: request ${request.request_id} is pending`);
  });
override
  .command('list')
  .argument('[space]', "a space's requests (default: every space's, for admins)")
  .addOption(new Option('--status <status>', 'admins: only requests in this status').choices(['pending', 'granted', 'declined']))
  .option('--json', "print the API's JSON")
  .description('Override requests, newest first')
  .action(async (space: string | undefined, flags: { status?: OverrideRequest['status']; json?: boolean }) => {
    if (space && flags.status) throw new UsageError('--status filters the admin list; leave out <space> to use it');
    const api = client();
    const page = space ? await api.spaceOverrideRequests(space, { limit: 100 }) : await api.overrideRequests({ status: flags.status, limit: 100 });
    if (flags.json) return printJson(page);
    print(overrideRequestTable(page.override_requests));
  });
override
  .command('grant')
  .argument('<request>', 'the request id')
  .requiredOption('--space <id>', 'the space the request is for')
  .requiredOption('--expires-at <time>', 'ISO time when the override ends')
  .option('--credits <n>', 'credits to grant (default: what was asked)', positiveCredits)
  .option('--reason <text>', 'the reason logged in the ledger (default: the request\'s)')
  .option('--json', "print the API's JSON")
  .description('Admin: grant a pending request as a time-boxed override')
  .action(async (requestId: string, flags: { space: string; expiresAt: string; credits?: number; reason?: string; json?: boolean }) => {
    const api = client();
    let { credits, reason } = flags;
    if (credits === undefined || reason === undefined) {
      const asked = (await api.spaceOverrideRequests(flags.space, { limit: 100 })).override_requests.find((r) => r.request_id === requestId);
      if (!asked) throw new UsageError(`no request ${requestId} among the latest 100 of space ${flags.space}; give --credits and --reason`);
      credits ??= asked.credits;
      reason ??= asked.reason;
    }
    const granted = await api.grantOverride(flags.space, { credits, reason, expires_at: flags.expiresAt, request_id: requestId });
    if (flags.json) return printJson(granted);
    print(`Granted ${granted.credits} credits on ${granted.space_id} until ${granted.expires_at} (request ${requestId})`);
  });
override
  .command('decline')
  .argument('<request>', 'the request id')
  .option('--reason <text>', 'why, for the user')
  .option('--json', "print the API's JSON")
  .description('Admin: decline a pending request')
  .action(async (requestId: string, flags: { reason?: string; json?: boolean }) => {
    const declined = await client().declineOverrideRequest(requestId, flags.reason ? { reason: flags.reason } : {});
    if (flags.json) return printJson(declined);
    print(`Declined request ${requestId} of ${declined.user_id} in ${declined.space_id}`);
  });

program.exitOverride();
for (const command of program.commands.flatMap((c) => [c, ...c.commands])) command.exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version are not errors; every other parser complaint is wrong usage.
    process.exitCode = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n`);
    process.exitCode = 2;
  } else if (error instanceof NightshiftApiError) {
    const hint = error.code === 'UNAUTHORIZED' ? '\nRun `nightshift login` (or set NIGHTSHIFT_TOKEN / NIGHTSHIFT_API_KEY).' : '';
    process.stderr.write(`error: ${error.message} (${error.code})${hint}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

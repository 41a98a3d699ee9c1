import { useEffect, useState } from 'preact/hooks';
import type { Schemas, TaskCreate } from '../../../src/client/client.js';
import { Banner, navigate } from '../components.js';
import { estimateSentence, estimatedTime } from '../format.js';
import { errorText } from '../session.js';
import { useSession } from '../app.js';

type Preference = NonNullable<TaskCreate['execution_preference']>;

const PREFERENCES: Array<{ value: Preference; label: string; hint: string }> = [
  { value: 'auto', label: 'Auto', hint: 'Nightshift decides' },
  { value: 'local', label: 'Local', hint: 'on one of your devices, free' },
  { value: 'remote', label: 'Remote', hint: 'in the cloud' },
  { value: 'cost_optimized', label: 'Cost optimized', hint: 'cheapest place that can run it' },
  { value: 'performance_optimized', label: 'Performance optimized', hint: 'fastest place that can run it' },
];

/** The request the form describes; undefined fields are left to the API's defaults. */
function bodyOf(form: { title: string; description: string; priority: string; preference: Preference; space: string; minutes: string }): TaskCreate {
  const body: TaskCreate = { title: form.title.trim(), description: form.description, priority: Number(form.priority), execution_preference: form.preference };
  if (form.space.trim()) body.space_id = form.space.trim();
  if (form.minutes.trim() && Number(form.minutes) > 0) body.estimated_minutes = Number(form.minutes);
  return body;
}

export function NewTaskPage() {
  const { client } = useSession();
  const [form, setForm] = useState({ title: '', description: '', priority: '3', preference: 'auto' as Preference, space: '', minutes: '' });
  const [estimate, setEstimate] = useState<Schemas['TaskEstimate'] | null>(null);
  const [estimateError, setEstimateError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const set = (field: keyof typeof form) => (event: { currentTarget: { value: string } }) => {
    setForm({ ...form, [field]: event.currentTarget.value });
    setConfirming(false);
  };

  // The estimate follows the form as the user types (debounced), and writes nothing.
  useEffect(() => {
    if (!form.title.trim()) {
      setEstimate(null);
      setEstimateError(null);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      client.estimateTask(bodyOf(form)).then(
        (answer) => {
          if (!current) return;
          setEstimate(answer);
          setEstimateError(null);
        },
        (e: unknown) => {
          if (!current) return;
          setEstimate(null);
          setEstimateError(errorText(e));
        },
      );
    }, 250);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [form.title, form.description, form.priority, form.preference, form.space, form.minutes]);

  const create = async () => {
    setError(null);
    try {
      const task = await client.createTask(bodyOf(form));
      navigate(`/?queued=${encodeURIComponent(task.id)}`);
    } catch (e) {
      setError(errorText(e));
      setConfirming(false);
    }
  };

  return (
    <>
      <h1>New task</h1>
      <form
        class="task-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (!form.title.trim()) return setError('Give the task a title.');
          setConfirming(true);
        }}
      >
        <label for="title">Title</label>
        <input id="title" required maxLength={200} value={form.title} onInput={set('title')} />
        <label for="description">Description</label>
        <textarea id="description" rows={4} maxLength={20000} value={form.description} onInput={set('description')} />
        <label for="priority">Priority</label>
        <select id="priority" value={form.priority} onChange={set('priority')}>
          <option value="1">1 (most urgent)</option>
          <option value="2">2</option>
          <option value="3">3 (normal)</option>
          <option value="4">4 (whenever)</option>
        </select>
        <fieldset>
          <legend>Execution preference</legend>
          {PREFERENCES.map((p) => (
            <label class="check" key={p.value}>
              <input type="radio" name="preference" value={p.value} checked={form.preference === p.value} onChange={() => setForm({ ...form, preference: p.value })} /> {p.label}{' '}
              <span class="hint">({p.hint})</span>
            </label>
          ))}
        </fieldset>
        <label for="space">Space (optional)</label>
        <input id="space" value={form.space} onInput={set('space')} placeholder="your personal space" />
        <label for="minutes">Expected minutes (optional)</label>
        <input id="minutes" type="number" min="1" max="1440" value={form.minutes} onInput={set('minutes')} />

        <section class="estimate" aria-labelledby="estimate-heading" aria-live="polite">
          <h2 id="estimate-heading">Estimate</h2>
          {!form.title.trim() && <p>Type a title to see what it costs.</p>}
          {estimate && (
            <>
              <p class="estimate-main">{estimateSentence(estimate)}</p>
              <p>{estimatedTime(estimate.estimated_duration_ms)}</p>
              <p>Why: {estimate.rationale}</p>
              <Banner kind={estimate.quota_status === 'OK' ? 'info' : estimate.quota_status === 'WARNING' ? 'warning' : 'error'}>
                Quota: {estimate.quota_message}
              </Banner>
            </>
          )}
          {estimateError && <Banner kind="error">{estimateError}</Banner>}
        </section>
        {error && <Banner kind="error">{error}</Banner>}
        {confirming && estimate ? (
          <div class="confirm" role="group" aria-label="Confirm the task">
            <p>
              Queue “{form.title.trim()}”? {estimateSentence(estimate)}.
            </p>
            <button type="button" class="primary" onClick={() => void create()}>
              Confirm and queue
            </button>{' '}
            <button type="button" onClick={() => setConfirming(false)}>
              Back to the form
            </button>
          </div>
        ) : (
          <button type="submit" class="primary" disabled={!estimate}>
            Review and queue
          </button>
        )}
      </form>
    </>
  );
}

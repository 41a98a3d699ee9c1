import { describe, expect, it } from 'vitest';
import { health } from '../../functions/api/routes/health.js';
import { resetConfigCache } from '../../src/platform/config.js';
import { useFreshTable } from '../support/local-env.js';

describe('GET /api/v1/health', () => {
  it('answers ok when the table and the queues answer', async () => {
    await useFreshTable();
    const response = await health();
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body ?? '')).toMatchObject({ status: 'ok', checks: { table: 'ok', spawn_queue: 'ok', wake_queue: 'ok' } });
  });

  it('answers 503 and says what is down', async () => {
    const env = await useFreshTable();
    process.env.TABLE_NAME = 'no-such-table';
    process.env.WAKE_QUEUE_URL = env.queues.wakeQueueUrl.replace(/[^/]+$/, 'no-such-queue');
    resetConfigCache();
    const response = await health();
    expect(response.statusCode).toBe(503);
    const body = JSON.parse(response.body ?? '');
    expect(body.status).toBe('degraded');
    expect(body.checks.table).toMatch(/^down/);
    expect(body.checks.wake_queue).toMatch(/^down/);
    expect(body.checks.spawn_queue).toBe('ok');
  });
});

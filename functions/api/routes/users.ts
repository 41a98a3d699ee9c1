import { identityOf, parseBody, parseWith, reply, requireAdmin, type ApiEvent, type ApiResult } from '../../../src/platform/http/api-handler.js';
import { idParamSchema } from '../../../src/tasks/schemas.js';
import { planChangeSchema, limitsChangeSchema } from '../../../src/accounts/schemas.js';
import { userLimitsResponseSchema } from '../../../src/accounts/responses.js';
import { getUserLimits, updateUserAccount } from '../../../src/accounts/limits.js';

export async function myLimits(event: ApiEvent): Promise<ApiResult> {
  return reply(200, userLimitsResponseSchema, await getUserLimits(identityOf(event).userId));
}

export async function setPlan(event: ApiEvent): Promise<ApiResult> {
  const identity = identityOf(event);
  requireAdmin(identity);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const { plan } = parseBody(event, planChangeSchema);
  return reply(200, userLimitsResponseSchema, await updateUserAccount(id, (user) => ({ ...user, plan }), identity.userId));
}

export async function setLimits(event: ApiEvent): Promise<ApiResult> {
  const identity = identityOf(event);
  requireAdmin(identity);
  const { id } = parseWith(event.pathParameters, idParamSchema);
  const body = parseBody(event, limitsChangeSchema);
  return reply(
    200,
    userLimitsResponseSchema,
    await updateUserAccount(
      id,
      (user) => {
        const overrides = { ...user.overrides };
        const apply = <K extends keyof typeof overrides>(name: K, value: (typeof overrides)[K] | null | undefined) => {
          if (value === null) delete overrides[name];
          else if (value !== undefined) overrides[name] = value;
        };
        apply('max_concurrent_agents', body.max_concurrent_agents);
        apply('max_task_duration_minutes', body.max_task_duration_minutes);
        apply('max_pending_tasks', body.max_pending_tasks);
        if (body.monthly_agent_hours_unlimited) overrides.monthly_agent_hours = null;
        else apply('monthly_agent_hours', body.monthly_agent_hours_limit);
        return { ...user, overrides, billing_day: body.billing_cycle_day ?? user.billing_day };
      },
      identity.userId,
    ),
  );
}

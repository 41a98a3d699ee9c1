/** Plans are code configuration, not data; an admin may change a user's plan or override its limits per user. */

export const PLAN_NAMES = ['free', 'pro', 'team', 'enterprise'] as const;
export type PlanName = (typeof PLAN_NAMES)[number];

export interface PlanLimits {
  max_concurrent_agents: number;
  max_task_duration_minutes: number;
  /** null = unlimited */
  monthly_agent_hours: number | null;
}

export const PLANS: Readonly<Record<PlanName, PlanLimits>> = {
  free: { max_concurrent_agents: 1, max_task_duration_minutes: 30, monthly_agent_hours: 10 },
  pro: { max_concurrent_agents: 3, max_task_duration_minutes: 120, monthly_agent_hours: 100 },
  team: { max_concurrent_agents: 10, max_task_duration_minutes: 240, monthly_agent_hours: null },
  enterprise: { max_concurrent_agents: 50, max_task_duration_minutes: 480, monthly_agent_hours: null },
};

export const DEFAULT_PLAN: PlanName = 'free';

/** Per-user overrides set by an admin; an absent field falls back to the plan. */
export interface LimitOverrides {
  max_concurrent_agents?: number;
  max_task_duration_minutes?: number;
  monthly_agent_hours?: number | null;
  max_pending_tasks?: number;
}

export interface EffectiveLimits extends PlanLimits {
  max_pending_tasks: number;
}

export function effectiveLimits(plan: PlanName, overrides: LimitOverrides, defaultMaxPending: number): EffectiveLimits {
  const base = PLANS[plan];
  return {
    max_concurrent_agents: overrides.max_concurrent_agents ?? base.max_concurrent_agents,
    max_task_duration_minutes: overrides.max_task_duration_minutes ?? base.max_task_duration_minutes,
    monthly_agent_hours:
      overrides.monthly_agent_hours !== undefined ? overrides.monthly_agent_hours : base.monthly_agent_hours,
    max_pending_tasks: overrides.max_pending_tasks ?? defaultMaxPending,
  };
}

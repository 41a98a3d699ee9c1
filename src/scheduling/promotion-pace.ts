/**
 * How often one orchestrator re-files its due users (promotion: a Query of every `DEFERRED`
 * shard, most of them empty). A busy orchestrator runs a pass for every wake, many a second;
 * promoting in each of them reads the same empty shards again and again. With a pace, a pass
 * promotes only if this orchestrator's last promotion is at least `intervalMs` old, or when it
 * is told to (a wake for a `not_before` that is due now, which must not wait). A pass that finds
 * nobody ready while the pace holds promotion back asks for a catch-up instead: one wake for the
 * moment the pace allows again (at most one per interval), whose pass promotes, so an idle
 * orchestrator still looks for due users within `intervalMs` without reading every shard in each
 * of its passes. A user whose wait ends unannounced (an hours reset, a re-check after a lagging
 * index or a failed claim) is then re-filed by the first pass at least `intervalMs` after the
 * last promotion, by that catch-up, or by the one-minute schedule's pass.
 *
 * Held per orchestrator, as its queue heads are (one per Lambda container, one per loop in the
 * bench). Without one, every pass promotes (tests, the chaos harness).
 */
export const PROMOTION_INTERVAL_MS = 1_000;

export class PromotionPace {
  private last = Number.NEGATIVE_INFINITY;
  private catchUpAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly intervalMs = PROMOTION_INTERVAL_MS) {}

  /** Whether a pass at `nowMs` should promote by the pace alone. */
  due(nowMs: number): boolean {
    // A clock that went back (another pass's fake time) is never a reason to skip.
    return nowMs < this.last || nowMs - this.last >= this.intervalMs;
  }

  /** Counts a promotion this orchestrator started at `nowMs` (paced or not). */
  record(nowMs: number): void {
    this.last = nowMs;
  }

  /**
   * When an idle pass at `nowMs` was held back: the time a catch-up wake should come (when the
   * pace allows again), or null when one is already asked for that time or later.
   */
  catchUp(nowMs: number): number | null {
    const at = Math.max(nowMs, this.last + this.intervalMs);
    if (this.catchUpAt >= at) return null;
    this.catchUpAt = at;
    return at;
  }
}

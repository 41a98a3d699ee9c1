/**
 * How often one orchestrator re-files its due users (promotion: a Query of every `DEFERRED`
 * shard, most of them empty). A busy orchestrator runs a pass for every wake, many a second;
 * promoting in each of them reads the same empty shards again and again. With a pace, a pass
 * promotes only if this orchestrator's last promotion is at least `intervalMs` old, or when it
 * is told to (a wake for a `not_before` that is due now, which must not wait), or when it finds
 * nobody ready (an idle orchestrator always looks). A user whose wait ends unannounced (an hours
 * reset, a re-check after a lagging index or a failed claim) is then re-filed by the first pass
 * at least `intervalMs` after the last promotion, or by the one-minute schedule's pass.
 *
 * Held per orchestrator, as its queue heads are (one per Lambda container, one per loop in the
 * bench). Without one, every pass promotes (tests, the chaos harness).
 */
export const PROMOTION_INTERVAL_MS = 1_000;

export class PromotionPace {
  private last = Number.NEGATIVE_INFINITY;

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
}

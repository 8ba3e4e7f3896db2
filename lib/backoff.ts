// The one doubling ladder: the AUTH failure delay, the limiter's delay and its
// ban lengths each double from a base per step, up to a cap.

/** `base` doubled `step` times, at most `max` (steps past 30 count as 30: the power stays finite). */
export function doubled(base: number, step: number, max: number): number {
  return Math.min(max, base * 2 ** Math.min(step, 30))
}

/** A file or object as a listing shows it: its name at the destination (key or relative path) and its size. */
export interface Listed<T> {
  name: string;
  size: number;
  item: T;
}

export interface SyncPlan<S, D> {
  /** Sources with nothing of their size at the destination: copied without asking anything more. */
  copy: S[];
  /** Sources whose destination has the same size: in place only if the recorded digest matches (one HEAD each). */
  compare: { source: S; destination: D }[];
  /** Destinations no source names (only with `deleteExtra`). */
  remove: D[];
}

/**
 * What a copy does, decided from the two listings alone, the same way in both directions: without `sync` every source
 * is copied; with it, a source whose destination has another size (or none) is copied and one of the same size is
 * compared. With `deleteExtra`, destinations that no source names are removed.
 */
export function planSync<S, D>(sources: Listed<S>[], destinations: Listed<D>[], options: { sync: boolean; deleteExtra: boolean }): SyncPlan<S, D> {
  const byName = new Map(destinations.map((d) => [d.name, d]));
  const plan: SyncPlan<S, D> = { copy: [], compare: [], remove: [] };
  for (const s of sources) {
    const existing = options.sync ? byName.get(s.name) : undefined;
    if (existing && existing.size === s.size) plan.compare.push({ source: s.item, destination: existing.item });
    else plan.copy.push(s.item);
  }
  if (options.deleteExtra) {
    const named = new Set(sources.map((s) => s.name));
    plan.remove = destinations.filter((d) => !named.has(d.name)).map((d) => d.item);
  }
  return plan;
}

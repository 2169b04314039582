/**
 * SST-style escape hatch: a caller adjusts a child's args without forking the component.
 * Either a partial object merged over the args, or a function that edits or returns them.
 * Resource options (protect, retainOnDelete, import) are not args, so a transform cannot undo them.
 */
export type Transform<T> = Partial<T> | ((args: T) => T | void);

/** Applies a transform to a fresh copy of `args`; pure. */
export function applyTransform<T extends object>(args: T, transform?: Transform<T>): T {
  if (!transform) return args;
  const copy = { ...args };
  if (typeof transform === "function") return transform(copy) ?? copy;
  return { ...copy, ...transform };
}

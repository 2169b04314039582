import { e2eRefusal } from "./settings";

/** Runs before any e2e file is even collected: without TRAINCTL_E2E=1 the run fails here. */
export default function setup(): void {
  const refusal = e2eRefusal(process.env);
  if (refusal) throw new Error(refusal);
}

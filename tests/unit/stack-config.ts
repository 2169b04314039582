import { type StackConfig, parseStackConfig } from "../../core/config";

/** A parsed stack config: the two required keys plus `values`, as a Pulumi.<stack>.yaml would give them. */
export const stackConfig = (values: Record<string, unknown> = {}): StackConfig =>
  parseStackConfig({ "trainctl:owner": "alice", "trainctl:costCenter": "ml", ...values });

/** The parsed config, or undefined when the schema or a cross-field rule refuses it (for properties over raw input). */
export function acceptedConfig(values: Record<string, unknown>): StackConfig | undefined {
  try {
    return stackConfig(values);
  } catch {
    return undefined;
  }
}

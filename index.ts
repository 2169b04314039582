/**
 * trainctl as a library: the experiment's components and its config schema, for a Pulumi program of
 * your own. `new Experiment(name, {project, experiment, config: experimentConfig({...}), costTags, projectDir})`.
 */
import { type ConfigContext, type StackConfig, keyPath, parseStackConfig } from "./core/config";

export { Experiment, type ExperimentArgs } from "./components/experiment";
export { TrainingInstance, type TrainingInstanceArgs } from "./components/training-instance";
export { NodeGroup, type NodeGroupArgs } from "./components/node-group";
export { DataVolume, type DataVolumeArgs } from "./components/data-volume";
export { SecureBucket, type SecureBucketArgs } from "./components/secure-bucket";
export { costTags, RUNTIME_TAG_PREFIX, TAG } from "./core/tags";
export { parseStackConfig, type StackConfig, type ConfigContext } from "./core/config";

/**
 * A stack config from code: the same schema, defaults and checks as `Pulumi.<stack>.yaml`, keyed by
 * field (`owner`, `instance`, `dataVolume`, `region`, …) instead of `trainctl:`/`aws:` config keys.
 */
export function experimentConfig(fields: Record<string, unknown>, context: ConfigContext = {}): StackConfig {
  return parseStackConfig(Object.fromEntries(Object.entries(fields).map(([field, value]) => [keyPath([field]), value])), context);
}

/** Runs a Pulumi program offline under mocks and captures what the engine would receive (as `trainctl plan` does). */
export { runOffline, type OfflineRun, type OfflineRunOptions } from "./scripts/state/offline-program";

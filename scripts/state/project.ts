import * as path from "node:path";

/** This package's root: `Pulumi.yaml`, `Pulumi.<stack>.yaml` and `infra/` live here. */
export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

/** Where the Pulumi CLI runs and stack files are read: TRAINCTL_PROJECT_DIR, else this package. */
export const projectDir = (): string => process.env.TRAINCTL_PROJECT_DIR ?? PROJECT_ROOT;

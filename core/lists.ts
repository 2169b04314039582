/**
 * The lists every other file imports (tests/architecture/single-definitions.test.ts checks none is
 * typed again): the data strategies the experiment provisions for, which `dataset.strategy` extends
 * with `auto` (the recommender picks); the dataset formats; the data volume's warm modes. Kept apart
 * from core/config.ts (which re-exports them) so that a command's options can name them without zod.
 */
export const STRATEGY_NAMES = ["prewarmed-ebs", "direct-s3", "local-cache"] as const;
export type Strategy = (typeof STRATEGY_NAMES)[number];
export const STRATEGIES = ["auto", ...STRATEGY_NAMES] as const;
export const FORMATS = ["files", "npy", "image", "webdataset"] as const;
export type Format = (typeof FORMATS)[number];
export const WARM_MODES = ["none", "rate", "fsr", "fio"] as const;
export type WarmMode = (typeof WARM_MODES)[number];

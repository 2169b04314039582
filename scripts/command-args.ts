import type { CommandModule } from "yargs";

/** "maxMonthly" → "max-monthly": the flag yargs declares for an args field (its camel-case expansion runs the other way). */
type Kebab<S extends string> = S extends `${infer Head}${infer Rest}` ? `${Head extends Lowercase<Head> ? Head : `-${Lowercase<Head>}`}${Kebab<Rest>}` : S;

/** An args interface keyed by flag names, as the options a builder declares produce it. */
export type FlagsOf<Args> = { [K in keyof Args as K extends string ? Kebab<K> : K]: Args[K] };

/**
 * A command whose builder must declare options that produce `Args` (checked by name and type), and whose
 * handler receives them camel-cased, as yargs does.
 */
export type TypedCommand<Args> = CommandModule<object, FlagsOf<Args>>;

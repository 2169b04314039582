/** C0 and C1 controls, DEL included: a newline would end a heredoc in user data or a line of shell. */
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/** C0 controls and DEL: what file names, keys and URNs may not hold, as one line of output would not show them. */
// eslint-disable-next-line no-control-regex
export const C0_CONTROL = /[\u0000-\u001f\u007f]/;

/** The value when it is a string, else undefined: for loosely typed inputs (resource properties, raw config). */
export const asString = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/**
 * Which S3 keys a download may write, decided from the key alone. Stricter than aws-cli, which normalises such
 * keys and skips only those that escape: normalising would also let two keys land on one file.
 */
import { C0_CONTROL } from "../../core/text";

/** Why an object's path relative to the prefix cannot be a file under DST, or undefined when it can. */
export function refusalReason(relative: string): string | undefined {
  if (relative === "") return "its path is empty";
  if (relative.startsWith("/")) return "its path is absolute";
  // C0 controls and DEL: a file name with a newline or escape sequence misleads every listing that shows it.
  if (C0_CONTROL.test(relative)) return "its path has a control character";
  const segments = relative.split("/");
  if (segments.includes("..")) return "its path has a '..' segment";
  if (segments.includes(".")) return "its path has a '.' segment";
  if (segments.includes("")) return "its path has an empty segment";
  return undefined;
}

/** A key as one safe line of output: JSON-quoted, so control characters and spaces show. */
export const quoteKey = (key: string): string => JSON.stringify(key);

/** A path as it is safe to print on one line: JSON-quoted only when it holds a control character. */
export const printable = (text: string): string => (C0_CONTROL.test(text) ? JSON.stringify(text) : text);

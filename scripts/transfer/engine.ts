/** The transfer engine's public face: each job lives in its own module. */
export { makeS3Client } from "./client";
export { abortJournal } from "./journal";
export { listLocal, matcher } from "./listing";
export { PART_BUFFER_BYTES, type TransferEvent, type TransferOptions, type TransferSummary, isTransient, naming } from "./run-context";
export { upload } from "./upload";
export { download } from "./download";

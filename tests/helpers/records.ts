import type { ResourceRecord } from "../../scripts/state/model";

/** A custom resource's state record with every flag off and nothing in it, but what the test gives. */
export function stateRecord(fields: Pick<ResourceRecord, "urn" | "type" | "name"> & Partial<ResourceRecord>): ResourceRecord {
  return { custom: true, protect: false, retainOnDelete: false, dependencies: [], inputs: {}, outputs: {}, tags: {}, ...fields };
}

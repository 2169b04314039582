/** Instance specs live in core/ (shared with the Pulumi program); re-exported for the CLI. */
export * from "../../core/instance-specs";

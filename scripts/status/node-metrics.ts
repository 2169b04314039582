/** The node metric catalog lives in core/ (shared with the Pulumi program); re-exported for the CLI. */
export * from "../../core/node-metrics";

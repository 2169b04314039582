/**
 * The big AWS SDK clients, loaded on first use: a command that may call EC2 does not pay for its
 * model when it prints help or rejects bad input. Types come from `import type` as usual.
 */
export const ec2Sdk = () => require("@aws-sdk/client-ec2") as typeof import("@aws-sdk/client-ec2");
export const ssmSdk = () => require("@aws-sdk/client-ssm") as typeof import("@aws-sdk/client-ssm");

/** The region the AWS environment names (AWS_REGION, then AWS_DEFAULT_REGION), else us-east-1. */
export const environmentRegion = (env: NodeJS.ProcessEnv = process.env): string => env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";

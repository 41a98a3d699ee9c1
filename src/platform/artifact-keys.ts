/*
 * Where each artifact of a task lives in the artifact bucket: names only, no S3 client, so code that
 * only names artifacts (the sandbox providers) does not carry the client into its bundle.
 */
/** Where each artifact of a task lives in the bucket. */
export const artifactKeys = {
  patch: (taskId: string): string => `tasks/${taskId}/patch.diff`,
  diffStat: (taskId: string): string => `tasks/${taskId}/diff-stat.txt`,
  agentLog: (taskId: string, attempt: number): string => `tasks/${taskId}/attempt-${attempt}/agent.log`,
};

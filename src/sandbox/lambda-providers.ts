import { cloudProviderFromEnvironment, type CloudProviderExtras } from './cloud-providers.js';
import { installSandboxProviders } from './current.js';

/**
 * What a Lambda handler that starts, stops or reads sandboxes calls at cold start: the ECS or
 * Daytona provider named by SANDBOX_PROVIDER, unless the local runtime or a test installed its
 * own set first. The API passes the artifact store (it collects Daytona repository tasks).
 */
export function installCloudSandboxProviders(extras: CloudProviderExtras = {}): void {
  installSandboxProviders(() => cloudProviderFromEnvironment(process.env, extras), { ifNone: true });
}

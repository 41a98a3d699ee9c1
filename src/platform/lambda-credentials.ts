/*
 * What Lambda bundles use instead of `@aws-sdk/credential-provider-node` (an esbuild alias in
 * lib/constructs/bundling.ts). Lambda always hands a function its role's credentials in the
 * environment, so the default chain's SSO, INI, process, web-identity and instance-metadata
 * providers (about 90 KB of every minified bundle, with STS and SSO clients and an XML parser)
 * are never reached there. Local runs and tests are not bundled and keep the full chain.
 */
/** The shape the SDK's `credentialDefaultProvider` returns (`AwsCredentialIdentityProvider`). */
interface AwsCredentialIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
type AwsCredentialIdentityProvider = () => Promise<AwsCredentialIdentity>;

/** Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, as Lambda sets them. */
export function defaultProvider(): AwsCredentialIdentityProvider {
  return () => {
    const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      return Promise.reject(new Error('No AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): this bundle runs only in Lambda'));
    }
    const sessionToken = process.env.AWS_SESSION_TOKEN;
    const expiration = process.env.AWS_CREDENTIAL_EXPIRATION;
    const credentials: AwsCredentialIdentity = {
      accessKeyId,
      secretAccessKey,
      ...(sessionToken ? { sessionToken } : {}),
      ...(expiration ? { expiration: new Date(expiration) } : {}),
    };
    return Promise.resolve(credentials);
  };
}

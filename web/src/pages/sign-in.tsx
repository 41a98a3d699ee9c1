import { useEffect, useState } from 'preact/hooks';
import { Banner } from '../components.js';
import { credentialFromPaste, errorText, finishOidcSignIn, localSignIn, startOidcSignIn, type Credential, type RuntimeConfig } from '../session.js';

interface Props {
  config: RuntimeConfig;
  onSignedIn: (credential: Credential) => void;
}

export function SignInPage({ config, onSignedIn }: Props) {
  const [pasted, setPasted] = useState('');
  const [userId, setUserId] = useState('');
  const [admin, setAdmin] = useState(false);
  const [error, setError] = useState<string | null>(null);

  return (
    <main id="main" class="sign-in">
      <h1>🌙 Sign in to Nightshift</h1>
      {error && <Banner kind="error">{error}</Banner>}
      {config.oidc && (
        <section aria-labelledby="oidc-heading">
          <h2 id="oidc-heading">With your organisation</h2>
          <button class="primary" onClick={() => startOidcSignIn(config).catch((e: unknown) => setError(errorText(e)))}>
            Sign in with single sign-on
          </button>
        </section>
      )}
      {config.local_sign_in && (
        <section aria-labelledby="local-heading">
          <h2 id="local-heading">On this machine</h2>
          <form
            onSubmit={(event) => {
              event.preventDefault();
              setError(null);
              localSignIn(userId.trim(), admin).then(onSignedIn, (e: unknown) => setError(errorText(e)));
            }}
          >
            <label for="local-user">User id</label>
            <input id="local-user" name="user" autoComplete="username" required pattern="[A-Za-z0-9:_\-.]{1,128}" value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
            <label class="check">
              <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.currentTarget.checked)} /> Administrator
            </label>
            <button class="primary" type="submit">
              Sign in locally
            </button>
          </form>
        </section>
      )}
      <section aria-labelledby="paste-heading">
        <h2 id="paste-heading">With an API key or token</h2>
        <form
          onSubmit={(event) => {
            event.preventDefault();
            if (!pasted.trim()) return setError('Paste an API key (ns_…) or a token first.');
            onSignedIn(credentialFromPaste(pasted));
          }}
        >
          <label for="paste">API key or token</label>
          <input id="paste" type="password" autoComplete="off" value={pasted} onInput={(e) => setPasted(e.currentTarget.value)} />
          <button type="submit">Sign in with key</button>
        </form>
      </section>
    </main>
  );
}

export function SignInCallbackPage({ config, onSignedIn }: Props) {
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    finishOidcSignIn(config).then(onSignedIn, (e: unknown) => setError(errorText(e)));
  }, []);
  return (
    <main id="main" class="sign-in">
      <h1>Signing you in…</h1>
      {error && (
        <Banner kind="error">
          {error} <a href="/sign-in">Try again</a>
        </Banner>
      )}
    </main>
  );
}

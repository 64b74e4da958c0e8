// WebAuthn ceremonies with the JSON forms the API speaks (WebAuthn Level 3):
// options in, PublicKeyCredential.toJSON() out.

export const passkeysSupported = () => typeof PublicKeyCredential === 'function' && typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function';

function unsupported() {
  return new Error('This browser cannot use passkeys here. Use another way to sign in, or a recent browser.');
}

// getPasskey asks the browser for an assertion; mediation 'conditional'
// offers the passkeys in the email field's autofill. signal aborts it.
export async function getPasskey(publicKey, { mediation, signal } = {}) {
  if (!passkeysSupported()) throw unsupported();
  const cred = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(publicKey), mediation, signal });
  if (!cred) throw new Error('No passkey was chosen.');
  return cred.toJSON();
}

export async function createPasskey(publicKey) {
  if (!passkeysSupported()) throw unsupported();
  const cred = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(publicKey) });
  if (!cred) throw new Error('No passkey was made.');
  return cred.toJSON();
}

// cancelled tells a person's own cancellation (or an abort) from a failure.
export const cancelled = (err) => err?.name === 'NotAllowedError' || err?.name === 'AbortError';

// Sign-in for the pages of this service, through Cognito's own API (the user pool named by
// GET /auth/config): sign up, confirm, sign in (USER_PASSWORD_AUTH), refresh (REFRESH_TOKEN_AUTH),
// sign out. The session (tokens of one user) is kept in this browser's localStorage; every API call
// goes through authFetch, which sends the access token and refreshes it when it is about to expire
// or the API answers 401.
window.EcpaySession = (function () {
  'use strict';
  const KEY = 'ecpayEvents.session';
  let config = null;
  async function loadConfig() {
    if (!config) {
      const r = await fetch('/auth/config', { headers: { Accept: 'application/json' } });
      if (!r.ok) throw new Error('The sign-in settings could not be loaded.');
      config = await r.json();
    }
    return config;
  }
  async function cognito(action, body) {
    const c = await loadConfig();
    const r = await fetch(c.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSCognitoIdentityProviderService.' + action },
      body: JSON.stringify(body),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) {
      const type = String(data.__type || 'Error').split('#').pop();
      const e = new Error(data.message || data.Message || (type + ' (' + r.status + ')'));
      e.type = type;
      throw e;
    }
    return data;
  }
  function load() { try { return JSON.parse(localStorage.getItem(KEY)); } catch (e) { return null; } }
  function save(s) { if (s) localStorage.setItem(KEY, JSON.stringify(s)); else localStorage.removeItem(KEY); }
  function claims(token) {
    const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64), c => c.charCodeAt(0))));
  }
  function store(result, email, refreshToken) {
    const c = claims(result.AccessToken);
    const s = { accessToken: result.AccessToken, refreshToken: result.RefreshToken || refreshToken, email, sub: c.sub,
      operator: (c['cognito:groups'] || []).includes('operators'), expiresAt: c.exp * 1000 };
    save(s);
    return s;
  }
  /** Returns {confirmed}: locally the stack confirms at once; otherwise a code arrives by email (confirm). */
  async function signUp(email, password) {
    const c = await loadConfig();
    await cognito('SignUp', { ClientId: c.clientId, Username: email, Password: password, UserAttributes: [{ Name: 'email', Value: email }] });
    if (c.localConfirm) {
      // Local stack only (the API says so): cognito-local accepts this administrator call unsigned.
      await cognito('AdminConfirmSignUp', { UserPoolId: c.userPoolId, Username: email });
      return { confirmed: true };
    }
    return { confirmed: false };
  }
  async function confirm(email, code) {
    const c = await loadConfig();
    await cognito('ConfirmSignUp', { ClientId: c.clientId, Username: email, ConfirmationCode: code });
  }
  async function signIn(email, password) {
    const c = await loadConfig();
    const r = await cognito('InitiateAuth', { ClientId: c.clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: email, PASSWORD: password } });
    if (!r.AuthenticationResult) throw new Error('Signing in needs ' + r.ChallengeName + ', which this page does not support yet.');
    return store(r.AuthenticationResult, email);
  }
  async function refresh() {
    const s = load();
    if (!s || !s.refreshToken) return null;
    const c = await loadConfig();
    try {
      const r = await cognito('InitiateAuth', { ClientId: c.clientId, AuthFlow: 'REFRESH_TOKEN_AUTH', AuthParameters: { REFRESH_TOKEN: s.refreshToken } });
      return store(r.AuthenticationResult, s.email, s.refreshToken);
    } catch (e) {
      save(null); // the refresh token expired or was revoked: sign in again
      return null;
    }
  }
  async function signOut() {
    const s = load();
    save(null);
    if (s && s.refreshToken) {
      const c = await loadConfig();
      try { await cognito('RevokeToken', { ClientId: c.clientId, Token: s.refreshToken }); } catch (e) { /* signed out here anyway */ }
    }
  }
  async function accessToken() {
    let s = load();
    if (s && Date.now() > s.expiresAt - 60000) s = await refresh();
    return s ? s.accessToken : null;
  }
  async function authFetch(url, options) {
    options = options || {};
    const headers = Object.assign({}, options.headers || {});
    const token = await accessToken();
    if (token) headers.Authorization = 'Bearer ' + token;
    let r = await fetch(url, Object.assign({}, options, { headers }));
    if (r.status === 401 && load()) {
      const s = await refresh();
      if (s) { headers.Authorization = 'Bearer ' + s.accessToken; r = await fetch(url, Object.assign({}, options, { headers })); }
    }
    return r;
  }
  return { config: loadConfig, signUp, confirm, signIn, signOut, refresh, current: load, authFetch };
})();

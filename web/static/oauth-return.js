// The OAuth redirect target. Google's redirect is a cross-site navigation, so the SameSite=Strict
// session cookies are not sent with it; this static page moves on same-site, with the same query,
// to the console route that checks the state against the session and exchanges the code.
"use strict";

(() => {
  const allowed = new URLSearchParams();
  const given = new URLSearchParams(window.location.search);
  for (const key of ["code", "state", "error", "scope"]) {
    const value = given.get(key);
    if (value !== null) {
      allowed.set(key, value);
    }
  }
  window.location.replace(`/integrations/oauth/callback?${allowed.toString()}`);
})();

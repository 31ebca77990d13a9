// The demo page's script: no framework, no build step. It calls the local API the way a single-page app does
// (fetch with credentials: "include", the Stytch cookies in the browser's jar) and shows every answer.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("demo-config").textContent);
  // The API on the page's own host name: 127.0.0.1 and localhost are different sites, and SameSite=Lax
  // cookies are only sent between pages and APIs of the same site.
  const api = `${location.protocol}//${location.hostname}:${config.apiPort}`;
  const params = new URLSearchParams(location.search);
  // Seconds before the JWT's expiry at which the page refreshes it (the Stytch SDK refreshes every 3 minutes).
  const refreshLeadSeconds = Math.min(Math.max(Number(params.get("refresh_lead") ?? 60) || 60, 1), 299);
  const JWT_COOKIE = "stytch_session_jwt";
  /** The demo login's factor choices (POST /dev/login's `factors`); the billing route asks for MFA within 15 minutes. */
  const FACTOR_CHOICES = {
    "mfa-now": [{ factor: "magic_link" }, { factor: "totp" }],
    "mfa-20": [
      { factor: "magic_link", minutes_ago: 20 },
      { factor: "totp", minutes_ago: 20 },
    ],
    "email-only": [{ factor: "magic_link" }],
    sso: [{ factor: "sso_saml" }],
    impersonated: [{ factor: "impersonated" }],
  };
  const SESSION_COOKIE = "stytch_session";

  const $ = (id) => document.getElementById(id);
  /** State the page shows; also what an automated test reads. */
  const demo = {
    api,
    results: [],
    member: null,
    refreshes: 0,
    nextRefreshAt: null,
    loadedAt: Date.now(),
    // Organization ID by slug: the organization logged in to and those the member also belongs to (kept across
    // reloads, like the cookies).
    organizations: JSON.parse(sessionStorage.getItem("demo-organizations") ?? "{}"),
  };
  window.demo = demo;
  let refreshTimer;

  /** One call to the API; never throws: a CORS failure is recorded as "network error". */
  async function call(label, method, path, init = {}) {
    let entry;
    try {
      const res = await fetch(api + path, { method, credentials: "include", ...init });
      const text = await res.text();
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      entry = {
        label,
        method,
        path,
        status: res.status,
        reason: json?.reason ?? "",
        message: json?.message ?? switchOutcome(json),
        retryAfter: res.headers.get("retry-after"),
        json,
      };
    } catch (error) {
      entry = { label, method, path, status: "network error", reason: "", message: String(error), retryAfter: null };
    }
    record(entry);
    return entry;
  }

  /** What an organization switch's 200 says, for the log (never the token itself). */
  function switchOutcome(json) {
    if (json?.member_authenticated === true) return `switched to ${json.organization_slug}; cookies rotated`;
    if (json?.member_authenticated === false)
      return `${json.organization_slug} requires MFA: intermediate session token received, no cookie set`;
    return "";
  }

  function record(entry) {
    demo.results.push(entry);
    const row = document.createElement("tr");
    const kind =
      typeof entry.status !== "number"
        ? "network"
        : entry.status < 400
          ? "ok"
          : entry.status >= 500
            ? "unavailable"
            : "denied";
    row.className = kind;
    const detail = [entry.message, entry.retryAfter ? `Retry-After: ${entry.retryAfter}` : ""]
      .filter(Boolean)
      .join(" · ");
    for (const [text, cls] of [
      [new Date().toLocaleTimeString([], { hour12: false }), ""],
      [`${entry.label}: ${entry.method} ${entry.path}`, ""],
      [String(entry.status), "status"],
      [entry.reason, ""],
      [detail, ""],
    ]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      if (cls) cell.className = cls;
      row.append(cell);
    }
    $("log").prepend(row);
  }

  function cookie(name) {
    const pair = document.cookie.split("; ").find((item) => item.startsWith(`${name}=`));
    return pair ? pair.slice(name.length + 1) : undefined;
  }

  function jwtExpiry(jwt) {
    try {
      const payload = JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      return typeof payload.exp === "number" ? payload.exp * 1000 : undefined;
    } catch {
      return undefined;
    }
  }

  function showMember(member) {
    demo.member = member;
    $("member-id").textContent = member?.memberId ?? "—";
    $("member-email").textContent = member?.email ?? "—";
    $("member-organization").textContent = member ? `${member.organizationSlug} (${member.organizationId})` : "—";
    $("member-roles").textContent = member ? member.roles.join(", ") : "—";
    $("member-auth-method").textContent = member?.authMethod ?? "—";
    $("member-factors").textContent = member
      ? member.authenticationFactors
          .map(
            (f) =>
              `${f.type}/${f.deliveryMethod} at ${new Date(f.lastAuthenticatedAt).toLocaleTimeString([], { hour12: false })}`,
          )
          .join(", ") || "none"
      : "—";
    $("member-impersonator").textContent = member?.impersonatorId ?? "—";
  }

  /** Plans the next refresh `refreshLeadSeconds` before the JWT expires, without reloading the page. */
  function scheduleRefresh(jwt) {
    clearTimeout(refreshTimer);
    const expiresAt = jwtExpiry(jwt);
    if (expiresAt === undefined) return;
    const at = Math.max(Date.now() + 1_000, expiresAt - refreshLeadSeconds * 1_000);
    demo.nextRefreshAt = at;
    $("jwt-expires").textContent = new Date(expiresAt).toLocaleTimeString([], { hour12: false });
    $("next-refresh").textContent = new Date(at).toLocaleTimeString([], { hour12: false });
    refreshTimer = setTimeout(() => refresh("automatic"), at - Date.now());
  }

  function signedOut() {
    clearTimeout(refreshTimer);
    demo.nextRefreshAt = null;
    showMember(null);
    $("jwt-expires").textContent = "—";
    $("next-refresh").textContent = "—";
  }

  async function loadMe() {
    // Cookies only: no Authorization header, as a browser app using the Stytch SDK's cookies.
    const entry = await call("me", "GET", "/me");
    if (entry.status === 200) showMember(entry.json.member);
    else if (entry.status === 401) showMember(null);
    return entry;
  }

  async function refresh(trigger) {
    const entry = await call(`refresh (${trigger})`, "POST", "/auth/refresh");
    if (entry.status === 200) {
      demo.refreshes += 1;
      $("refresh-count").textContent = String(demo.refreshes);
      scheduleRefresh(entry.json.session_jwt);
    } else if (entry.status === 401) {
      signedOut(); // the session is over: refresh cleared the cookies
    } else if (typeof entry.status === "number" && entry.status >= 500) {
      // An outage is not a logout: keep the session and try again when told to.
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(() => refresh("retry"), Number(entry.retryAfter ?? 5) * 1_000);
    }
    return entry;
  }

  async function login() {
    const roles = [...document.querySelectorAll('input[name="role"]:checked')].map((input) => input.value);
    const factors = FACTOR_CHOICES[$("factors").value] ?? FACTOR_CHOICES["mfa-now"];
    const entry = await call("login", "POST", "/dev/login", {
      headers: { "content-type": "application/json" },
      // Also a member of two other organizations, to switch to (initech requires MFA).
      body: JSON.stringify({ roles, factors, also_member_of: ["globex", "initech"] }),
    });
    if (entry.status !== 200) return entry;
    demo.organizations = { acme: entry.json.organization_id, ...entry.json.also_member_of };
    sessionStorage.setItem("demo-organizations", JSON.stringify(demo.organizations));
    scheduleRefresh(entry.json.session_jwt);
    await loadMe();
    return entry;
  }

  async function logout() {
    const entry = await call("logout", "POST", "/dev/logout");
    signedOut();
    await loadMe(); // shows that the cookies are gone: 401
    return entry;
  }

  /** Switches the session to another organization; a full switch rotates the cookies, so the page reloads the member. */
  async function switchTo(slug) {
    const entry = await call(`switch to ${slug}`, "POST", "/auth/switch-organization", {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ organization_id: demo.organizations[slug] ?? "not-logged-in" }),
    });
    if (entry.status === 200 && entry.json.member_authenticated) {
      scheduleRefresh(entry.json.session_jwt);
      await loadMe();
    } else if (entry.status === 401) {
      signedOut();
    }
    return entry;
  }

  function orgPath(suffix) {
    const organization = demo.member?.organizationId ?? "not-logged-in";
    return `/orgs/${encodeURIComponent(organization)}/${suffix}`;
  }

  const actions = {
    login,
    logout,
    me: loadMe,
    refresh: () => refresh("button"),
    "switch-home": () => switchTo("acme"),
    "switch-globex": () => switchTo("globex"),
    "switch-initech": () => switchTo("initech"),
    documents: () => call("documents", "GET", orgPath("documents")),
    billing: () => call("billing", "GET", orgPath("billing")),
    garbage: () => call("garbage bearer", "GET", "/me", { headers: { authorization: "Bearer not-a-real-token" } }),
    opaque: () =>
      call("opaque token", "GET", "/me", { headers: { authorization: `Bearer ${cookie(SESSION_COOKIE) ?? "none"}` } }),
    "outage-on": () =>
      call("Stytch outage on", "POST", "/dev/stytch-outage", {
        headers: { "content-type": "application/json" },
        body: '{"outage":true}',
      }),
    "outage-off": () =>
      call("Stytch outage off", "POST", "/dev/stytch-outage", {
        headers: { "content-type": "application/json" },
        body: '{"outage":false}',
      }),
  };
  demo.actions = actions;
  for (const [id, action] of Object.entries(actions)) $(id).addEventListener("click", () => void action());

  $("page-origin").textContent = location.origin;
  $("api-url").textContent = api;
  if (config.mode !== "emulator") {
    $("login-note").hidden = false;
    for (const id of ["login", "logout", "outage-on", "outage-off", "switch-home", "switch-globex", "switch-initech"])
      $(id).disabled = true;
  }

  // A reload keeps the session: the JWT cookie is readable, as the Stytch SDK's is.
  const jwt = cookie(JWT_COOKIE);
  if (jwt) {
    scheduleRefresh(jwt);
    void loadMe();
  }
})();

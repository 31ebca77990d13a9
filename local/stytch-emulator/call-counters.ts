// How often each endpoint was called, and what the authenticate endpoint received: what tests assert on.

/** The endpoints that have a call counter (every HTTP request also counts in `total`). */
export type CountedEndpoint =
  | "jwks"
  | "authenticate"
  | "revoke"
  | "exchange"
  | "rbacPolicy"
  | "organizationPolicy"
  | "m2mToken"
  | "introspect";

/** Calls per endpoint, counting every HTTP request received (also the faulted ones). */
export type CallCounts = Record<CountedEndpoint, number> & { total: number };

/** A request as received: the body (parsed JSON, or the raw string if not JSON) and its Authorization header. */
export interface ReceivedAuthenticateRequest {
  body: unknown;
  authorization: string | undefined;
}

/** The call counters and the logs of authenticate and exchange requests. All are mutated in place, never replaced. */
export class CallCounters {
  readonly calls: CallCounts = {
    jwks: 0,
    authenticate: 0,
    revoke: 0,
    exchange: 0,
    rbacPolicy: 0,
    organizationPolicy: 0,
    m2mToken: 0,
    introspect: 0,
    total: 0,
  };
  /** Newest last. */
  readonly authenticateRequests: ReceivedAuthenticateRequest[] = [];
  /** Newest last. */
  readonly exchangeRequests: ReceivedAuthenticateRequest[] = [];

  /** Counts one request, to `endpoint` when a route serves its path, in `total` always. */
  count(endpoint: CountedEndpoint | undefined): void {
    this.calls.total++;
    if (endpoint !== undefined) this.calls[endpoint]++;
  }

  /** Zeroes the counters and clears the logs (in place). */
  reset(): void {
    this.calls.jwks = 0;
    this.calls.authenticate = 0;
    this.calls.revoke = 0;
    this.calls.exchange = 0;
    this.calls.rbacPolicy = 0;
    this.calls.organizationPolicy = 0;
    this.calls.m2mToken = 0;
    this.calls.introspect = 0;
    this.calls.total = 0;
    this.authenticateRequests.length = 0;
    this.exchangeRequests.length = 0;
  }
}

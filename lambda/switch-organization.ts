// POST /auth/switch-organization: exchanges the member's Stytch session for one in another organization the member
// belongs to (Stytch's sessions.exchange), and rotates the session cookies as refresh does.
//
//   event ──► request ──► organization_id ──► credential ──► Stytch sessions/exchange ──► JSON (+ Set-Cookie)
//
// Public like refresh, with the same gates (lib/session-endpoint/session-endpoint.ts: origin allow-list, 400/401/
// 503, forged JWTs never reach Stytch). Two 200s, told apart by `member_authenticated` (Stytch's own field):
// `true`, a session in the organization and its cookies; `false`, the organization asks for more (MFA): the
// intermediate session token in the body and no cookie at all, so the browser keeps the session it had and never
// holds half of another. docs/organization-switch.md has the wire format and the mapping of Stytch's answers.

import type { RefreshConfig } from "./lib/config";
import { SERVICE_NAMES } from "./lib/operations/metric-names";
import { clearedCookie, sessionCookie } from "./lib/response/session-cookies";
import { BadRequestError } from "./lib/session-endpoint/request-body";
import {
  createSessionEndpoint,
  lambdaEntryPoint,
  type SessionEndpointHandler,
} from "./lib/session-endpoint/session-endpoint";
import {
  SessionExchangeClient,
  type StytchMfaRequired,
  type StytchPrimaryRequired,
} from "./lib/stytch/session-exchange";
import { sessionCredentialOf } from "./lib/stytch/stytch-client";

/** The organization switch's handler. */
export type OrganizationSwitchHandler = SessionEndpointHandler;

/** The JSON body of the request (besides the optional credential fields refresh also reads). */
export interface OrganizationSwitchRequestBody {
  /** The organization to switch to: its ID (`organization-test-…` / `organization-live-…`), not its slug. */
  readonly organization_id: string;
  /** Lifetime of the new session in minutes, bounded by REFRESH_MAX_SESSION_DURATION_MINUTES. Omitted: Stytch's 60. */
  readonly session_duration_minutes?: number;
  /** Language of the SMS passcode Stytch sends when the organization requires MFA, e.g. `en`, `es`, `pt-br`. */
  readonly locale?: string;
  readonly session_token?: string;
  readonly session_jwt?: string;
}

/** The 200 when the member is in: a session in the organization, whose cookies the answer sets. */
export interface OrganizationSwitchedBody {
  readonly member_authenticated: true;
  readonly session_jwt: string;
  readonly session_expires_at: string;
  readonly member_id: string;
  readonly organization_id: string;
  readonly organization_slug?: string;
  /** Only when REFRESH_RETURN_SESSION_TOKEN=true. */
  readonly session_token?: string;
}

/**
 * The 200 when the organization asks for more than the session's factors (MFA, or another primary method): no
 * session and no cookie; the member's current session is unchanged. The client completes the factor with Stytch
 * (e.g. the SMS or TOTP authenticate call, passing the intermediate session token), which yields the session.
 */
export interface OrganizationSwitchNeedsFactorsBody {
  readonly member_authenticated: false;
  /** Stytch's intermediate session token (about 10 minutes): the transferable factors, for the next Stytch call. */
  readonly intermediate_session_token: string;
  readonly intermediate_session_token_expires_at?: string;
  /** The member's ID in the target organization. */
  readonly member_id: string;
  readonly organization_id: string;
  readonly organization_slug?: string;
  /** Stytch's `mfa_required` (how the member can do MFA), `null` when MFA is not what is missing. */
  readonly mfa_required: StytchMfaRequired | null;
  /** Stytch's `primary_required` (the primary methods the organization accepts), `null` when none is missing. */
  readonly primary_required: StytchPrimaryRequired | null;
}

/** Either 200 body, told apart by `member_authenticated`. */
export type OrganizationSwitchResponseBody = OrganizationSwitchedBody | OrganizationSwitchNeedsFactorsBody;

const ORGANIZATION_ID =
  /^organization-(test|live)-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** A BCP 47 language tag of the kind Stytch lists (`en`, `pt-br`, `zh-Hans`, `ca-ES`). */
const LOCALE = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$/;

interface SwitchInput {
  readonly organizationId: string;
  readonly locale?: string;
}

/**
 * The target organization, checked before anything reaches Stytch: an organization ID of the project's environment
 * (a test project's organizations are `organization-test-…`). Slugs and external IDs, which Stytch would also take,
 * are refused: the field names one organization, in one way.
 * @throws BadRequestError
 */
export function readSwitchInput(
  fields: Readonly<Record<string, unknown>>,
  config: Pick<RefreshConfig, "projectId">,
): SwitchInput {
  const organizationId = fields.organization_id;
  if (organizationId === undefined) throw new BadRequestError("organization_id is required");
  if (typeof organizationId !== "string" || !ORGANIZATION_ID.test(organizationId))
    throw new BadRequestError(
      "organization_id must be a Stytch organization ID (organization-test-… or organization-live-…)",
    );
  const environment = /^project-(test|live)-/.exec(config.projectId)?.[1];
  if (!organizationId.startsWith(`organization-${environment}-`))
    throw new BadRequestError(`organization_id must be an organization of this ${environment} project`);
  const locale = fields.locale;
  if (locale !== undefined && !(typeof locale === "string" && LOCALE.test(locale)))
    throw new BadRequestError("locale must be a language tag such as en, es or pt-br");
  return { organizationId, ...(locale === undefined ? {} : { locale }) };
}

/**
 * Creates the organization switch handler for an environment: the refresh endpoint's settings (REFRESH_*, read by
 * the same loader). An invalid configuration yields a handler that answers 503 to every request.
 */
export function createOrganizationSwitchHandler(
  env: Readonly<Record<string, string | undefined>> = process.env,
): OrganizationSwitchHandler {
  return createSessionEndpoint(env, {
    service: SERVICE_NAMES.organizationSwitch,
    name: "organization switch",
    fields: ["organization_id", "locale"],
    readInput: readSwitchInput,
    client: SessionExchangeClient,
    async answer({ input, credential, sessionDurationMinutes, deadline }, { config, stytch, cookies }) {
      const answer = await stytch.exchange(input.organizationId, sessionCredentialOf(credential), {
        deadline,
        ...(sessionDurationMinutes === undefined ? {} : { sessionDurationMinutes }),
        ...(input.locale === undefined ? {} : { locale: input.locale }),
      });
      if (!answer.member_authenticated) {
        const body: OrganizationSwitchNeedsFactorsBody = {
          member_authenticated: false,
          intermediate_session_token: answer.intermediate_session_token,
          ...(typeof answer.intermediate_session_token_expires_at === "string"
            ? { intermediate_session_token_expires_at: answer.intermediate_session_token_expires_at }
            : {}),
          member_id: answer.member_id,
          organization_id: answer.organization.organization_id,
          ...(answer.organization.organization_slug
            ? { organization_slug: answer.organization.organization_slug }
            : {}),
          mfa_required: mfaRequired(answer.mfa_required),
          primary_required: answer.primary_required
            ? { allowed_auth_methods: [...answer.primary_required.allowed_auth_methods] }
            : null,
        };
        // Not half a session: no cookie is set or cleared, the member keeps the session they had.
        return {
          body,
          cookies: [],
          logMessage: "organization switch needs more factors",
          memberId: answer.member_id,
          organizationId: body.organization_id,
        };
      }
      const session = answer.member_session;
      const setCookies = [
        sessionCookie(config.jwtCookieName, answer.session_jwt, session.expires_at, cookies),
        // The opaque token of the session left behind must not stay next to the new JWT.
        answer.session_token
          ? sessionCookie(config.sessionCookieName, answer.session_token, session.expires_at, cookies)
          : clearedCookie(config.sessionCookieName, cookies),
      ];
      const slug = session.organization_slug ?? answer.organization?.organization_slug;
      const body: OrganizationSwitchedBody = {
        member_authenticated: true,
        session_jwt: answer.session_jwt,
        session_expires_at: session.expires_at,
        member_id: session.member_id,
        organization_id: session.organization_id,
        ...(slug ? { organization_slug: slug } : {}),
        ...(config.returnSessionToken && answer.session_token ? { session_token: answer.session_token } : {}),
      };
      return {
        body,
        cookies: setCookies,
        logMessage: "organization switched",
        memberId: session.member_id,
        organizationId: session.organization_id,
      };
    },
  });
}

/** Stytch's `mfa_required`, its known fields only. */
function mfaRequired(value: StytchMfaRequired | null | undefined): StytchMfaRequired | null {
  if (!value) return null;
  const options = value.member_options;
  return {
    member_options: options
      ? {
          ...(typeof options.mfa_phone_number === "string" ? { mfa_phone_number: options.mfa_phone_number } : {}),
          ...(typeof options.totp_registration_id === "string"
            ? { totp_registration_id: options.totp_registration_id }
            : {}),
        }
      : null,
    secondary_auth_initiated:
      typeof value.secondary_auth_initiated === "string" ? value.secondary_auth_initiated : null,
  };
}

/** The Lambda entry point, wired to the container's environment. */
export const handler: OrganizationSwitchHandler = lambdaEntryPoint(() => createOrganizationSwitchHandler());

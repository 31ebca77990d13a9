// The project's signing keys and the JWKS endpoint: key generation, rotation and retirement, the public key
// set in Stytch's JWK shape, and minting and checking JWTs with the project's keys (one key set serves every
// token type Stytch mints: session JWTs today, M2M and Connected-App access tokens alike).

import { generateKeyPair, generateKeyPairSync, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import type { JsonObject } from "./json";
import { type DecodedJws, decodeCompact, signCompact, verifiesRs256 } from "./jws";
import type { Project } from "./project";
import type { Route } from "./router";
import { StytchApiError } from "./stytch-api-error";

const generateKeyPairAsync = promisify(generateKeyPair);

/** `GET /v1/b2b/sessions/jwks/{project_id}` without the project ID. */
const JWKS_PATH_PREFIX = "/v1/b2b/sessions/jwks/";

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** False once retired: no longer served, but still known for verification and forgeries. */
  published: boolean;
}

/** The public key set as served: an object with `keys[]`. */
export interface PublicKeySet {
  keys: Array<Record<string, unknown>>;
}

/** The project's RSA signing keys: one current key, the previous one after a rotation, retired ones. */
export class SigningKeys {
  /** Insertion order = creation order, which is also the order keys are served in. */
  readonly #keys: SigningKey[] = [];
  readonly #keyBits: number;
  readonly #newKid: () => string;
  #current: SigningKey;
  #previous: SigningKey | undefined;

  /**
   * Generates the first key without blocking the event loop.
   * @param keyBits RSA modulus length of every generated key.
   * @param newKid mints the `kid` of a new key.
   */
  static async generate(keyBits: number, newKid: () => string): Promise<SigningKeys> {
    const firstKey = await generateKeyPairAsync("rsa", { modulusLength: keyBits });
    return new SigningKeys(keyBits, newKid, firstKey);
  }

  private constructor(
    keyBits: number,
    newKid: () => string,
    firstKey: { privateKey: KeyObject; publicKey: KeyObject },
  ) {
    this.#keyBits = keyBits;
    this.#newKid = newKid;
    this.#current = this.#addKey(firstKey.privateKey, firstKey.publicKey);
  }

  /** kid of the key that signs new JWTs. */
  get currentKid(): string {
    return this.#current.kid;
  }

  /** The public keys that are not retired, oldest first; a fresh copy on every call. */
  jwks(): PublicKeySet {
    return { keys: this.#keys.filter((k) => k.published).map(publicJwk) };
  }

  /** A new current key; the old one stays published and becomes the previous key. */
  rotate(): { newKid: string; previousKid: string } {
    // Synchronous on purpose: tests rotate between two lines of code and expect the next JWT to use the new key.
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: this.#keyBits });
    this.#previous = this.#current;
    this.#current = this.#addKey(privateKey, publicKey);
    return { newKid: this.#current.kid, previousKid: this.#previous.kid };
  }

  /** Stops publishing a key (it stays known). Throws for the current key or an unknown kid. */
  retire(kid: string): void {
    const key = this.#keys.find((k) => k.kid === kid);
    if (key === undefined) throw new Error(`unknown kid ${kid}`);
    if (key === this.#current) throw new Error(`cannot retire the current signing key ${kid}: rotate first`);
    key.published = false;
  }

  /** The private key of the current or previous key (throws before the first rotation), or `key` itself. */
  privateKey(key: "current" | "previous" | KeyObject): KeyObject {
    if (key === "current") return this.#current.privateKey;
    if (key === "previous") {
      if (this.#previous === undefined) throw new Error("no previous key: call rotateKeys() first");
      return this.#previous.privateKey;
    }
    return key;
  }

  /** Mints a JWT as Stytch does: RS256, header `{ alg, kid, typ: "JWT" }`, signed with the current key. */
  mint(payload: JsonObject): string {
    return signCompact(
      { alg: "RS256", kid: this.#current.kid, typ: "JWT" },
      payload,
      this.#current.privateKey,
      "RS256",
    );
  }

  /**
   * The JWT decoded, if it is a compact JWS with `alg: "RS256"` whose signature verifies with the key its `kid`
   * names; undefined otherwise. Retired keys still count: UNVERIFIED, the brief for this emulator asks for it;
   * real Stytch may stop accepting JWTs of a key it no longer serves. No claim is checked.
   */
  verify(jwt: string): DecodedJws | undefined {
    const jws = decodeCompact(jwt);
    if (jws === undefined) return undefined;
    // Stytch only mints RS256; anything else (none, HS256 with the public key, PS256) is a forgery.
    if (jws.header.alg !== "RS256") return undefined;
    const key = this.#keys.find((k) => k.kid === jws.header.kid);
    if (key === undefined) return undefined;
    return verifiesRs256(jws, key.publicKey) ? jws : undefined;
  }

  #addKey(privateKey: KeyObject, publicKey: KeyObject): SigningKey {
    const key: SigningKey = { kid: this.#newKid(), privateKey, publicKey, published: true };
    this.#keys.push(key);
    return key;
  }
}

/** The JWKS response body of reference §4: the key set plus `request_id` and `status_code`. */
export function jwksBody(keys: SigningKeys, project: Project): JsonObject {
  return { ...keys.jwks(), request_id: project.newId("request-id"), status_code: 200 };
}

/** `GET /v1/b2b/sessions/jwks/{project_id}`, reference §4. */
export function jwksRoute(keys: SigningKeys, project: Project): Route {
  return {
    method: "GET",
    path: `${JWKS_PATH_PREFIX}{project_id}`,
    counter: "jwks",
    faultSwitch: "jwks",
    // No Authorization header needed: jose's createRemoteJWKSet fetches the set anonymously (reference §4).
    credentials: "none",
    handle({ param: projectId }) {
      // UNVERIFIED: error_type for an unknown project on the JWKS endpoint.
      if (projectId !== project.projectId) {
        throw new StytchApiError(404, "project_not_found", "Project could not be found.");
      }
      return jwksBody(keys, project);
    },
  };
}

function publicJwk(key: SigningKey): Record<string, unknown> {
  const { n, e } = key.publicKey.export({ format: "jwk" });
  // Same member order as Stytch's example (§4); x5c/x5tS256 are omitted: node cannot mint certificates.
  return { kty: "RSA", use: "sig", key_ops: ["verify"], alg: "RS256", kid: key.kid, n, e };
}

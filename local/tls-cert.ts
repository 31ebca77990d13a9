// A throwaway self-signed certificate for the loopback HTTPS servers of the benchmark.
//
// The Stytch SDK refuses a non-https `custom_base_url`, so its JWKS must come over TLS. Instead of
// switching certificate checks off (never acceptable, not even in a benchmark), the benchmark trusts
// exactly this certificate through NODE_EXTRA_CA_CERTS, which Node reads only at process start.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** Paths of a PEM certificate and its private key. */
export interface CertificateFiles {
  readonly certPath: string;
  readonly keyPath: string;
}

/** The openssl binary: the system one when present (the brief's /usr/bin/openssl), else whatever PATH finds. */
const OPENSSL = existsSync("/usr/bin/openssl") ? "/usr/bin/openssl" : "openssl";

/**
 * Generates a P-256 self-signed certificate valid for `127.0.0.1` and `localhost`, for one day.
 * @param dir a private temporary directory (the key is written there unencrypted)
 */
export function generateLoopbackCertificate(dir: string): CertificateFiles {
  const certPath = join(dir, "loopback-cert.pem");
  const keyPath = join(dir, "loopback-key.pem");
  execFileSync(
    OPENSSL,
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      // Clients match the IP literal in the URL against the SAN, not the CN.
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return { certPath, keyPath };
}

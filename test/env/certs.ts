/**
 * Throwaway X.509 certificates for the test services, made with the
 * `openssl` command line: a certificate authority and certificates it
 * signs, valid for two days, as PEM files in a folder of the caller's.
 *
 * @module
 */

import { join } from "node:path";
import { run } from "./process.ts";

/** A certificate authority: its certificate and key as PEM files. */
export interface CertificateAuthority {
  /** The CA certificate (PEM). */
  certFile: string;
  /** The CA's private key (PEM, PKCS#8). */
  keyFile: string;
  /** The CA certificate's text. */
  certPem: string;
}

/** A certificate signed by a {@linkcode CertificateAuthority}. */
export interface IssuedCertificate {
  /** The certificate (PEM). */
  certFile: string;
  /** Its private key (PEM, PKCS#8, unencrypted). */
  keyFile: string;
}

/** Options of {@linkcode issueCertificate}. */
export interface IssueOptions {
  /** The subject's common name, e.g. `front-proxy-client`. */
  commonName: string;
  /** DNS names and IP addresses the certificate is valid for. */
  hosts?: string[];
  /** What the certificate may do. @default "server-and-client" */
  usage?: "server" | "client" | "server-and-client";
}

const VALID_DAYS = "2";

/**
 * Creates a CA named `name` in `dir` (`<name>.crt`, `<name>.key`).
 *
 * @throws {Error} When `openssl` is missing or fails; the message says so.
 */
export async function createCertificateAuthority(
  dir: string,
  name: string,
): Promise<CertificateAuthority> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    VALID_DAYS,
    "-subj",
    `/CN=${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ], `creating the test CA ${name}`);
  return { certFile, keyFile, certPem: await Deno.readTextFile(certFile) };
}

/** Issues a certificate named `name` in `dir` (`<name>.crt`, `<name>.key`), signed by `ca`. */
export async function issueCertificate(
  ca: CertificateAuthority,
  dir: string,
  name: string,
  options: IssueOptions,
): Promise<IssuedCertificate> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const csrFile = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  const usage = options.usage ?? "server-and-client";
  const extendedUsage = { server: "serverAuth", client: "clientAuth" } as const;
  const extensions = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage=${
      usage === "server-and-client"
        ? `${extendedUsage.server},${extendedUsage.client}`
        : extendedUsage[usage]
    }`,
  ];
  const hosts = options.hosts ?? [];
  if (hosts.length > 0) {
    const names = hosts.map((host) => /^[\d.]+$|:/.test(host) ? `IP:${host}` : `DNS:${host}`);
    extensions.push(`subjectAltName=${names.join(",")}`);
  }
  await Deno.writeTextFile(extFile, extensions.join("\n") + "\n");
  const what = `issuing the test certificate ${name}`;
  await openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    csrFile,
    "-subj",
    `/CN=${options.commonName}`,
  ], what);
  await openssl([
    "x509",
    "-req",
    "-in",
    csrFile,
    "-CA",
    ca.certFile,
    "-CAkey",
    ca.keyFile,
    "-set_serial",
    `0x${crypto.getRandomValues(new Uint8Array(8)).reduce((s, b) => s + b.toString(16), "1")}`,
    "-out",
    certFile,
    "-days",
    VALID_DAYS,
    "-extfile",
    extFile,
  ], what);
  await Promise.all([Deno.remove(csrFile), Deno.remove(extFile)]);
  return { certFile, keyFile };
}

async function openssl(args: string[], what: string): Promise<void> {
  try {
    await run("openssl", args, { what });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot make test certificates: openssl is not on PATH (${what})`);
    }
    throw error;
  }
}

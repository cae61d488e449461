/**
 * Signed, expiring email verification tokens and links.
 *
 * A token is `base64url(payload) + "." + base64url(HMAC-SHA256(secret, payload))`
 * where the payload is the JSON `{"u": userId, "c": campaignId, "e": email,
 * "exp": unixSeconds}`. Changing the user's email invalidates it, and so does
 * time.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Who a verification token is for. */
export interface VerificationClaims {
  /** The user to verify. */
  userId: string;
  /** The user's campaign. */
  campaignId: string;
  /** The address the link was sent to. */
  email: string;
  /** When the token stops being accepted. */
  expiresAt: Date;
}

/** A token that is malformed, forged or expired. */
export class InvalidVerificationTokenError extends TypeError {
  /** An error saying what is wrong with the token. */
  constructor(message: string) {
    super(message);
    this.name = "InvalidVerificationTokenError";
  }
}

/** Signs `claims` with `secret` into a URL-safe token. */
export async function createVerificationToken(
  claims: VerificationClaims,
  secret: string,
): Promise<string> {
  const payload = base64url(encoder.encode(JSON.stringify({
    u: claims.userId,
    c: claims.campaignId,
    e: claims.email,
    exp: Math.floor(claims.expiresAt.getTime() / 1000),
  })));
  const signature = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(secret),
    encoder.encode(payload),
  );
  return `${payload}.${base64url(new Uint8Array(signature))}`;
}

/** Options of {@linkcode verifyVerificationToken}. */
export interface VerifyTokenOptions {
  /** The secret the token was signed with (`VERIFICATION_SECRET`). */
  secret: string;
  /** The time expiry is checked against. @default new Date() */
  now?: Date;
}

/**
 * The claims of a token signed with `options.secret` that has not expired.
 *
 * @throws {InvalidVerificationTokenError} otherwise.
 */
export async function verifyVerificationToken(
  token: string,
  options: VerifyTokenOptions,
): Promise<VerificationClaims> {
  const [payload, signature, extra] = token.split(".");
  if (!payload || !signature || extra !== undefined) {
    throw new InvalidVerificationTokenError(
      "Invalid verification token: expected payload.signature",
    );
  }
  let signatureBytes: Uint8Array<ArrayBuffer>;
  let claims: { u?: unknown; c?: unknown; e?: unknown; exp?: unknown };
  try {
    signatureBytes = fromBase64url(signature);
    claims = JSON.parse(decoder.decode(fromBase64url(payload)));
  } catch {
    throw new InvalidVerificationTokenError("Invalid verification token: not base64url JSON");
  }
  const valid = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(options.secret),
    signatureBytes,
    encoder.encode(payload),
  );
  if (!valid) throw new InvalidVerificationTokenError("Invalid verification token: bad signature");
  if (
    typeof claims.u !== "string" || typeof claims.c !== "string" ||
    typeof claims.e !== "string" || typeof claims.exp !== "number"
  ) {
    throw new InvalidVerificationTokenError("Invalid verification token: missing claims");
  }
  const expiresAt = new Date(claims.exp * 1000);
  if (expiresAt.getTime() <= (options.now ?? new Date()).getTime()) {
    throw new InvalidVerificationTokenError(
      `Invalid verification token: expired at ${expiresAt.toISOString()}, ask for a new email`,
    );
  }
  return { userId: claims.u, campaignId: claims.c, email: claims.e, expiresAt };
}

/** `<appBaseUrl>/verify?token=<token>`. */
export function verificationLink(appBaseUrl: string, token: string): string {
  const url = new URL(`${appBaseUrl.replace(/\/+$/, "")}/verify`);
  url.searchParams.set("token", token);
  return url.href;
}

function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new TypeError("not base64url");
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

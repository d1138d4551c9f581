import { createHash, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'sg_';

/** A new API token secret: 256 random bits, base64url, with a recognisable prefix. */
export function newTokenSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** What is stored instead of the secret. */
export function hashTokenSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** The part of a secret that may be shown to tell tokens apart (10 of its 46 characters). */
export function tokenPrefix(secret: string): string {
  return secret.slice(0, 10);
}

export function looksLikeTokenSecret(value: string): boolean {
  return /^sg_[A-Za-z0-9_-]{43}$/.test(value);
}

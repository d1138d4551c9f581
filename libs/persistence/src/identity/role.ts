/**
 * The roles of DESIGN.md section 1; every user has exactly one. OPERATOR is the platform operator
 * (the bootstrap admin): manages organisations, never their data (see libs/access ability.ts).
 */
export const roles = ['OPERATOR', 'ADMIN', 'DATA_OWNER', 'CONSUMER', 'COMPLIANCE'] as const;
export type Role = (typeof roles)[number];

/** Scopes a token may carry: `read` allows queries, `write` allows mutations and imports. */
export const tokenScopes = ['read', 'write'] as const;
export type TokenScope = (typeof tokenScopes)[number];

/** The four roles of DESIGN.md section 1; every user has exactly one. */
export const roles = ['ADMIN', 'DATA_OWNER', 'CONSUMER', 'COMPLIANCE'] as const;
export type Role = (typeof roles)[number];

/** Scopes a token may carry: `read` allows queries, `write` allows mutations and imports. */
export const tokenScopes = ['read', 'write'] as const;
export type TokenScope = (typeof tokenScopes)[number];

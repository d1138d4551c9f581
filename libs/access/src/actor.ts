/** The roles of DESIGN.md section 1: OPERATOR is the platform operator, ADMIN an organisation's admin. */
export type Role = 'OPERATOR' | 'ADMIN' | 'DATA_OWNER' | 'CONSUMER' | 'COMPLIANCE';
/** `read` tokens may only read; `write` tokens may also change things. */
export type TokenScope = 'read' | 'write';

/** Who is calling: resolved from an API token on every request. */
export interface Actor {
  readonly userId: string;
  readonly organizationId: string;
  readonly role: Role;
  readonly tokenId: string;
  readonly scopes: readonly TokenScope[];
}

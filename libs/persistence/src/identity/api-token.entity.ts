import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { TokenScope } from './role';

/**
 * An API token. Only the SHA-256 of the secret is stored (the secret has 256 bits of entropy, so
 * a slow hash adds nothing); the secret is shown once, when the token is created.
 */
@Entity({ name: 'api_token' })
export class ApiTokenEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index()
  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @Column({ type: 'text' })
  name!: string;

  /** The first characters of the secret, safe to show, to tell tokens apart. */
  @Column({ type: 'text' })
  prefix!: string;

  @Column({ name: 'secret_hash', type: 'bytea', unique: true, select: false })
  secretHash!: Buffer;

  @Column({ type: 'text', array: true })
  scopes!: TokenScope[];

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  @Column({ name: 'created_by', type: 'uuid', nullable: true })
  createdBy!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

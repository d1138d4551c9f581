import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { SYNTHGATE_CONFIG, type SynthgateConfig } from '@synthgate/config';
import { Database } from '@synthgate/persistence';
import { AuditService } from '../audit/audit.service';
import { ApiTokenService } from '../tokens/api-token.service';

/** Serialises bootstrap across gateway processes that start together. */
const BOOTSTRAP_LOCK = 7_201_002;
const BOOTSTRAP_ORGANIZATION = 'Synthgate operators';
const BOOTSTRAP_EMAIL = 'admin@synthgate.local';
const BOOTSTRAP_TOKEN_DAYS = 365;

/**
 * On first start (no user at all), creates an operators' organisation, an OPERATOR user and a token,
 * and writes the token to `<data folder>/admin-token` (mode 0600). The log says where the file is;
 * no token is ever printed.
 */
@Injectable()
export class BootstrapAdminService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Bootstrap');

  constructor(
    private readonly database: Database,
    private readonly tokens: ApiTokenService,
    private readonly audit: AuditService,
    @Inject(SYNTHGATE_CONFIG) private readonly config: SynthgateConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const path = join(resolve(this.config.dataDir), 'admin-token');
    const created = await this.database.transaction(async (repositories) => {
      await repositories.locks.lock(BOOTSTRAP_LOCK);
      if ((await repositories.users.count()) > 0) return false;
      const organization = await repositories.organizations.create(BOOTSTRAP_ORGANIZATION);
      const admin = await repositories.users.create({
        organizationId: organization.id,
        email: BOOTSTRAP_EMAIL,
        displayName: 'Bootstrap admin',
        // The platform operator: manages organisations, never reads their data (libs/access ability.ts).
        role: 'OPERATOR',
      });
      const { secret } = await this.tokens.issue(repositories, null, {
        userId: admin.id,
        organizationId: organization.id,
        name: 'bootstrap',
        scopes: ['read', 'write'],
        days: BOOTSTRAP_TOKEN_DAYS,
      });
      await this.audit.record(
        null,
        { action: 'bootstrap.admin', outcome: 'SUCCESS', subjectType: 'User', subjectId: admin.id, organizationId: organization.id },
        repositories,
      );
      // Written before commit: if writing fails, no admin exists whose token nobody has.
      mkdirSync(resolve(this.config.dataDir), { recursive: true });
      writeFileSync(path, `${secret}\n`, { mode: 0o600 });
      chmodSync(path, 0o600);
      return true;
    });
    if (created) {
      this.logger.log(`created the bootstrap admin (${BOOTSTRAP_EMAIL}); its API token is in ${path} (mode 0600)`);
    }
  }
}

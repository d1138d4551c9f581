import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { Database } from '@synthgate/persistence';
import { AuditService } from '../audit/audit.service';
import { GatewayStorage } from '../storage/gateway-storage';
import { ApiTokenService } from '../tokens/api-token.service';

/** Serialises bootstrap across gateway processes that start together. */
const BOOTSTRAP_LOCK = 7_201_002;
const BOOTSTRAP_ORGANIZATION = 'Synthgate operators';
const BOOTSTRAP_EMAIL = 'admin@synthgate.local';
const BOOTSTRAP_TOKEN_DAYS = 365;
const BOOTSTRAP_TOKEN_FILE = 'admin-token';

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
    private readonly storage: GatewayStorage,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const path = this.storage.privateFilePath(BOOTSTRAP_TOKEN_FILE);
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
      this.storage.writePrivateFile(BOOTSTRAP_TOKEN_FILE, `${secret}\n`);
      return true;
    });
    if (created) {
      this.logger.log(`created the bootstrap admin (${BOOTSTRAP_EMAIL}); its API token is in ${path} (mode 0600)`);
    }
  }
}

import { Injectable } from '@nestjs/common';
import { AccessError, type Actor, defineAbilityFor, scopeFor, subject } from '@synthgate/access';
import { Database, type OrganizationEntity, type Page, type PageRequest } from '@synthgate/persistence';
import { AuditService } from '../audit/audit.service';
import { DomainError } from '../gateway.errors';

/** Organisations: created by admins, readable as the permission table allows. */
@Injectable()
export class OrganizationService {
  constructor(
    private readonly database: Database,
    private readonly audit: AuditService,
  ) {}

  async create(actor: Actor, name: string): Promise<OrganizationEntity> {
    const trimmed = name.trim();
    if (trimmed.length < 1 || trimmed.length > 200) throw DomainError.badInput('input.name', 'must be 1 to 200 characters');
    return this.database.transaction(async (repositories) => {
      const organization = await repositories.organizations.create(trimmed);
      await this.audit.record(
        actor,
        { action: 'organization.create', outcome: 'SUCCESS', subjectType: 'Organization', subjectId: organization.id, details: { name: trimmed } },
        repositories,
      );
      return organization;
    });
  }

  async get(actor: Actor, id: string): Promise<OrganizationEntity> {
    const organization = await this.database.repositories.organizations.findById(id);
    if (!organization || !defineAbilityFor(actor).can('read', subject('Organization', { id: organization.id }))) {
      throw AccessError.notFound('organization', id);
    }
    return organization;
  }

  list(actor: Actor, page: PageRequest): Promise<Page<OrganizationEntity>> {
    return this.database.repositories.organizations.list(scopeFor(defineAbilityFor(actor), 'read', 'Organization'), page);
  }
}

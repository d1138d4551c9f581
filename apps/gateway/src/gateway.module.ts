import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import { ThrottlerModule } from '@nestjs/throttler';
import { ACTOR_RESOLVER, AccessGuard } from '@synthgate/access';
import { ConfigModule, SYNTHGATE_CONFIG, type SynthgateConfig } from '@synthgate/config';
import { Database, PersistenceModule } from '@synthgate/persistence';
import { AuditModule } from './audit/audit.module';
import { AuditResolver } from './audit/audit.resolver';
import { AuditService } from './audit/audit.service';
import { BudgetResolver, DatasetBudgetResolver } from './budgets/budget.resolver';
import { BudgetService } from './budgets/budget.service';
import { LedgerGuard } from './budgets/ledger-guard';
import { ActorResolverService } from './auth/actor-resolver.service';
import { BootstrapAdminService } from './auth/bootstrap-admin.service';
import { DatasetResolver } from './datasets/dataset.resolver';
import { DatasetService } from './datasets/dataset.service';
import { RecordImportController } from './datasets/record-import.controller';
import { RecordImportService } from './datasets/record-import.service';
import { graphqlOptions } from './graphql.options';
import { HealthController } from './health/health.controller';
import { HttpExceptionFilter } from './errors/http-exception.filter';
import { GatewayThrottlerGuard } from './http/throttler.guard';
import { GatewayMetrics } from './metrics/gateway-metrics';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsModule } from './metrics/metrics.module';
import { ModelResolver } from './models/model.resolver';
import { OrganizationResolver } from './organizations/organization.resolver';
import { OrganizationService } from './organizations/organization.service';
import { ModelCatalogService } from './releases/model-catalog.service';
import { GatewayStorage } from './storage/gateway-storage';
import { ReleaseExportController } from './releases/release-export.controller';
import { ReleaseExportService } from './releases/release-export.service';
import { ReleaseResolver } from './releases/release.resolver';
import { ReleaseService } from './releases/release.service';
import { ApiTokenResolver } from './tokens/api-token.resolver';
import { ApiTokenService } from './tokens/api-token.service';
import { UserResolver } from './users/user.resolver';
import { UserService } from './users/user.service';

/** Every resolver of the API; the permission snapshot spec walks this list. */
export const resolvers = [
  OrganizationResolver,
  UserResolver,
  ApiTokenResolver,
  DatasetResolver,
  DatasetBudgetResolver,
  BudgetResolver,
  ReleaseResolver,
  ModelResolver,
  AuditResolver,
] as const;
/** Every REST controller. */
export const controllers = [RecordImportController, ReleaseExportController, HealthController, MetricsController] as const;

/**
 * The GraphQL gateway. Guards run in order: rate limit, then access (deny by default). The
 * database is connected and migrated before this module is built.
 */
@Module({})
export class GatewayModule {
  static forRoot(config: SynthgateConfig, database: Database): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        ConfigModule.forRoot(config),
        PersistenceModule.forRoot(database),
        AuditModule,
        MetricsModule,
        ThrottlerModule.forRoot([{ name: 'default', ttl: 60_000, limit: config.rateLimitPerMinute }]),
        GraphQLModule.forRootAsync<ApolloDriverConfig>({
          driver: ApolloDriver,
          imports: [AuditModule, MetricsModule],
          inject: [SYNTHGATE_CONFIG, Database, AuditService, GatewayMetrics],
          useFactory: graphqlOptions,
        }),
      ],
      controllers: [...controllers],
      providers: [
        ...resolvers,
        OrganizationService,
        UserService,
        ApiTokenService,
        DatasetService,
        RecordImportService,
        BudgetService,
        LedgerGuard,
        ModelCatalogService,
        GatewayStorage,
        ReleaseService,
        ReleaseExportService,
        BootstrapAdminService,
        { provide: ACTOR_RESOLVER, useClass: ActorResolverService },
        { provide: APP_GUARD, useClass: GatewayThrottlerGuard },
        { provide: APP_GUARD, useClass: AccessGuard },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
      ],
    };
  }
}

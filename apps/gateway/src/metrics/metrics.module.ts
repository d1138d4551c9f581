import { Module } from '@nestjs/common';
import { GatewayMetrics } from './gateway-metrics';

/** The gateway's metrics registry, shared by the GraphQL plugin, the HTTP middleware and GET /metrics. */
@Module({ providers: [GatewayMetrics], exports: [GatewayMetrics] })
export class MetricsModule {}

import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Headers, Inject, NotFoundException, Res, UnauthorizedException } from '@nestjs/common';
import { Public } from '@synthgate/access';
import { SYNTHGATE_CONFIG, type SynthgateConfig } from '@synthgate/config';
import { type Response } from 'express';
import { GatewayMetrics } from './gateway-metrics';

function sameSecret(given: string, expected: string): boolean {
  // Hashing first gives equal lengths, so the comparison time says nothing about the token.
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());
}

/**
 * `GET /metrics` in Prometheus text format, for the instance's operator. Not an API operation: it
 * is `@Public()` to the access guard (no API token, whatever its role, opens it) and asks for the
 * separate METRICS_TOKEN as a bearer token instead. Unset, the route answers 404.
 */
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: GatewayMetrics,
    @Inject(SYNTHGATE_CONFIG) private readonly config: SynthgateConfig,
  ) {}

  @Get()
  @Public()
  async metricsText(@Headers('authorization') authorization: string | undefined, @Res() response: Response): Promise<void> {
    const expected = this.config.metricsToken;
    if (!expected) throw new NotFoundException('Cannot GET /metrics');
    const given = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    if (!given || !sameSecret(given, expected)) {
      response.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      throw new UnauthorizedException('GET /metrics needs the METRICS_TOKEN as a bearer token');
    }
    const text = await this.metrics.scrape();
    response.status(200).type(this.metrics.contentType).setHeader('Cache-Control', 'no-store');
    response.send(text);
  }
}

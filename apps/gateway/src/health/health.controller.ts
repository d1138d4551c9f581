import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { Public } from '@synthgate/access';
import { Database } from '@synthgate/persistence';
import { type Response } from 'express';

/** `GET /health`: 200 when the database answers and every migration is applied, else 503. */
@Controller('health')
export class HealthController {
  constructor(private readonly database: Database) {}

  @Get()
  @Public()
  async health(@Res() response: Response): Promise<void> {
    let database: 'up' | 'down' = 'down';
    let migrations: 'current' | 'pending' | 'unknown' = 'unknown';
    try {
      await this.database.ping();
      database = 'up';
      migrations = (await this.database.migrationsCurrent()) ? 'current' : 'pending';
    } catch {
      // reported below as down
    }
    const ok = database === 'up' && migrations === 'current';
    response.status(ok ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE).json({ status: ok ? 'ok' : 'unavailable', database, migrations });
  }
}

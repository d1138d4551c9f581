import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { type Actor, Can, CurrentActor } from '@synthgate/access';
import { type Response } from 'express';
import { DomainError } from '../gateway.errors';
import { ReleaseExportService } from './release-export.service';

/** `GET /releases/:id/export?format=jsonl|csv`: every synthetic record, streamed. */
@Controller('releases')
export class ReleaseExportController {
  constructor(private readonly exports: ReleaseExportService) {}

  @Get(':id/export')
  @Can('export', 'SyntheticRecord')
  async export(@CurrentActor() actor: Actor, @Param('id') id: string, @Res() response: Response, @Query('format') format = 'jsonl'): Promise<void> {
    if (format !== 'jsonl' && format !== 'csv') throw DomainError.badInput('format', 'must be jsonl or csv');
    await this.exports.export(actor, id, format, response);
  }
}

import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { type Actor, Can, CurrentActor } from '@synthgate/access';
import { type Response } from 'express';
import { DomainError } from '../gateway.errors';
import { type ExportFormat, exportFormats, ReleaseExportService } from './release-export.service';

/**
 * `GET /releases/:id/export?format=jsonl|csv|parquet|zip`: every synthetic record. JSON Lines and
 * CSV are streamed; Parquet has typed columns from the record schema; zip is the Parquet file with
 * a Hugging Face dataset card (README.md) and the schema.
 */
@Controller('releases')
export class ReleaseExportController {
  constructor(private readonly exports: ReleaseExportService) {}

  @Get(':id/export')
  @Can('export', 'SyntheticRecord')
  async export(@CurrentActor() actor: Actor, @Param('id') id: string, @Res() response: Response, @Query('format') format = 'jsonl'): Promise<void> {
    if (!(exportFormats as readonly string[]).includes(format)) throw DomainError.badInput('format', `must be one of ${exportFormats.join(', ')}`);
    await this.exports.export(actor, id, format as ExportFormat, response);
  }
}

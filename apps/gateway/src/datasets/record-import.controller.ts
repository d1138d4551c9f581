import { type Readable } from 'node:stream';
import { Controller, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { type Actor, Can, CurrentActor } from '@synthgate/access';
import busboy from 'busboy';
import { type Request } from 'express';
import { DomainError } from '../gateway.errors';
import { type ImportFormat, type ImportResult, RecordImportService } from './record-import.service';

const csvTypes = new Set(['text/csv', 'application/csv']);
const jsonlTypes = new Set(['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines', 'application/json-lines', 'application/ndjson']);

function formatOf(contentType: string | undefined, filename: string | undefined, explicit: string | undefined): ImportFormat | null {
  if (explicit !== undefined) {
    if (explicit === 'csv' || explicit === 'jsonl') return explicit;
    throw DomainError.badInput('format', 'must be csv or jsonl');
  }
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type && csvTypes.has(type)) return 'csv';
  if (type && jsonlTypes.has(type)) return 'jsonl';
  if (filename?.toLowerCase().endsWith('.csv')) return 'csv';
  if (filename && /\.(jsonl|ndjson)$/i.test(filename)) return 'jsonl';
  return null;
}

/** Why an upload stopped before its end: the import it fed imports nothing. */
function cutOff(): DomainError {
  return DomainError.badInput('file', 'the upload ended before the file was complete (the client disconnected); nothing was imported');
}

/**
 * Aborts when the client goes away before its request body is complete: the import rolls back at
 * once instead of holding its connection and lock until a timeout.
 */
function uploadAbort(request: Request): AbortController {
  const upload = new AbortController();
  const onEnd = (): void => {
    if (!request.complete) upload.abort(cutOff());
  };
  // Registered before the import's pipeline, so the import sees the cut-off reason first.
  request.once('error', onEnd);
  request.once('close', onEnd);
  return upload;
}

/**
 * `POST /datasets/:id/records`: import records, all or nothing. The body is the file itself
 * (`Content-Type: text/csv` or `application/x-ndjson`) or a multipart form whose first file part
 * is the file; `?format=csv|jsonl` overrides what the content type says. A client that
 * disconnects mid-upload, or a multipart form without its closing boundary, imports nothing and
 * releases everything the import held within moments.
 */
@Controller('datasets')
export class RecordImportController {
  constructor(private readonly imports: RecordImportService) {}

  @Post(':id/records')
  @HttpCode(201)
  @Can('import', 'SensitiveRecord')
  async import(
    @CurrentActor() actor: Actor,
    @Param('id') datasetId: string,
    @Req() request: Request,
    @Query('format') format?: string,
  ): Promise<ImportResult> {
    const upload = uploadAbort(request);
    const contentType = request.headers['content-type'];
    if (contentType?.toLowerCase().startsWith('multipart/form-data')) {
      return this.importMultipart(actor, datasetId, request, format, upload);
    }
    const resolved = formatOf(contentType, undefined, format);
    if (!resolved) {
      throw DomainError.badInput('content-type', 'must be text/csv, application/x-ndjson or multipart/form-data (or pass ?format=csv|jsonl)');
    }
    // The request's own 'error' (ECONNRESET on a disconnect) reaches the import's pipeline.
    return this.imports.import(actor, datasetId, request, resolved, upload.signal);
  }

  /**
   * The first file part of a multipart form is imported. busboy's file stream fails (e.g. no
   * closing boundary) before the import has attached its pipeline, so its error handling is
   * attached here at once: any failure of the form aborts the import, and the answer waits for
   * the import to have rolled back.
   */
  private importMultipart(actor: Actor, datasetId: string, request: Request, explicit: string | undefined, upload: AbortController): Promise<ImportResult> {
    return new Promise((resolve, reject) => {
      let parser: busboy.Busboy;
      try {
        parser = busboy({ headers: request.headers, limits: { files: 1 } });
      } catch {
        reject(DomainError.badInput('content-type', 'is multipart/form-data without a valid boundary'));
        return;
      }
      let started = false;
      const invalid = (error: unknown): DomainError => DomainError.badInput('file', `is not a valid multipart upload (${error instanceof Error ? error.message : String(error)})`);
      parser.on('file', (_name: string, file: Readable, info: busboy.FileInfo) => {
        file.on('error', (error: unknown) => upload.abort(invalid(error)));
        if (started) {
          file.resume();
          return;
        }
        started = true;
        let format: ImportFormat | null;
        try {
          format = formatOf(info.mimeType, info.filename, explicit);
        } catch (error) {
          file.resume();
          reject(error);
          return;
        }
        if (!format) {
          file.resume();
          reject(DomainError.badInput('file', 'must be a .csv or .jsonl file (or pass ?format=csv|jsonl)'));
          return;
        }
        this.imports.import(actor, datasetId, file, format, upload.signal).then(resolve, (error: unknown) => {
          file.resume();
          reject(error);
        });
      });
      parser.on('error', (error: unknown) => {
        upload.abort(invalid(error));
        // Once the import has started, its own rejection (after the rollback) answers the request.
        if (!started) reject(invalid(error));
      });
      parser.on('close', () => {
        if (!started) reject(DomainError.badInput('file', 'the multipart form has no file part'));
      });
      // pipe() does not pass the request's failure on: a disconnect must end busboy's streams too.
      upload.signal.addEventListener('abort', () => {
        request.unpipe(parser);
        parser.destroy();
        if (!started) reject(upload.signal.reason);
      });
      request.pipe(parser);
    });
  }
}

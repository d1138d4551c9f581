import { BadRequestException, Logger, PayloadTooLargeException } from '@nestjs/common';
import { AccessError } from '@synthgate/access';
import { ConfigError } from '@synthgate/config';
import { GenerationError, type GenerationErrorCode } from '@synthgate/generation/catalog';
import { PersistenceError } from '@synthgate/persistence';
import { PrivacyError, type PrivacyErrorCode } from '@synthgate/privacy';
import { GraphQLError } from 'graphql';
import { DomainError } from '../gateway.errors';
import { formatGraphQLError, isClientCode, toClientError } from './error-mapping';

describe('toClientError', () => {
  let logged: string[];
  beforeEach(() => {
    logged = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => void logged.push(String(message)));
  });
  afterEach(() => jest.restoreAllMocks());

  it("keeps a DomainError's code, message and details", () => {
    const error = new DomainError('BAD_USER_INPUT', 'file: 2 problems', { field: 'file', problemCount: 2 });
    expect(toClientError(error)).toEqual({ code: 'BAD_USER_INPUT', message: 'file: 2 problems', status: 400, extensions: { field: 'file', problemCount: 2 } });
    expect(toClientError(DomainError.conflict('archived'))).toMatchObject({ code: 'CONFLICT', status: 409 });
    expect(toClientError(new DomainError('LEDGER_INVALID', 'the ledger failed verification'))).toMatchObject({ code: 'LEDGER_INVALID', status: 503 });
  });

  it('maps access and persistence codes to the same codes', () => {
    expect(toClientError(AccessError.notFound('dataset', 'x'))).toMatchObject({ code: 'NOT_FOUND', status: 404, message: 'dataset x was not found' });
    expect(toClientError(AccessError.unauthenticated())).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    expect(toClientError(AccessError.forbidden())).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    expect(toClientError(new PersistenceError('BAD_USER_INPUT', 'after: not a cursor'))).toMatchObject({ code: 'BAD_USER_INPUT', status: 400 });
    expect(toClientError(new PersistenceError('CONFLICT', 'name taken'))).toMatchObject({ code: 'CONFLICT', status: 409 });
  });

  it.each<PrivacyErrorCode>(['INVALID_PRIVACY_PARAMETER', 'INVALID_LOGITS', 'INVALID_RELEASE_COST'])('a PrivacyError %s is bad input naming its field', (code) => {
    const error = new PrivacyError(code, 'delta', 'must be in (0, 1), got 2');
    expect(toClientError(error)).toEqual({ code: 'BAD_USER_INPUT', message: 'delta must be in (0, 1), got 2', status: 400, extensions: { field: 'delta' } });
    expect(logged).toEqual([]);
  });

  it.each<GenerationErrorCode>(['INVALID_GENERATION_INPUT', 'KV_CACHE_LIMIT_EXCEEDED', 'CONTEXT_LENGTH_EXCEEDED'])('a GenerationError %s is bad input', (code) => {
    expect(toClientError(new GenerationError(code, 'maxNewTokens must be a positive integer, got 0'))).toEqual({
      code: 'BAD_USER_INPUT',
      message: 'maxNewTokens must be a positive integer, got 0',
      status: 400,
      extensions: {},
    });
    expect(logged).toEqual([]);
  });

  it.each<[string, Error]>([
    ...(['MODEL_FILE_MISSING', 'MODEL_CONTRACT_VIOLATION', 'MODEL_HASH_MISMATCH', 'UNSUPPORTED_MODEL', 'MODEL_FORMAT_INVALID', 'MODEL_EXISTS'] as const).map(
      (code): [string, Error] => [code, new GenerationError(code, '/opt/secret/path/models/tiny/tokenizer.json is missing')],
    ),
    ['EXECUTION_PROVIDER_UNAVAILABLE', new GenerationError('EXECUTION_PROVIDER_UNAVAILABLE', 'cuda is not available at /opt/secret/path')],
    ['CHAT_TEMPLATE_UNAVAILABLE', new GenerationError('CHAT_TEMPLATE_UNAVAILABLE', 'no @huggingface/jinja at /opt/secret/path')],
    ['INVALID_CONFIG', new ConfigError([{ key: 'DATABASE_URL', message: 'postgres://user:secret@host is not reachable' }])],
    ['unknown', new Error('connection to /opt/secret/path refused')],
    ['a DomainError INTERNAL_SERVER_ERROR', new DomainError('INTERNAL_SERVER_ERROR', 'stack at /opt/secret/path')],
    ['a Node system error', Object.assign(new Error('ENOENT: /opt/secret/path'), { code: 'ENOENT' })],
  ])('%s is an internal error: logged, answered with no internals', (_name, error) => {
    const client = toClientError(error);
    expect(client).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', status: 500, extensions: { requestId: null } });
    expect(client.message).toBe('internal error; quote request id unknown when reporting it');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(error.message.split('\n')[0]);
    expect(JSON.stringify(client)).not.toContain('secret');
  });

  it('maps HTTP exceptions by status', () => {
    expect(toClientError(new BadRequestException('bad multipart'))).toMatchObject({ code: 'BAD_USER_INPUT', status: 400, message: 'bad multipart' });
    expect(toClientError(new PayloadTooLargeException('too big'))).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
  });
});

describe('GraphQL codes', () => {
  it('knows every code a client can see, and only those', () => {
    for (const code of ['BAD_USER_INPUT', 'INTERNAL_SERVER_ERROR', 'TOO_MANY_IMPORTS', 'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST', 'PERSISTED_QUERY_NOT_FOUND', 'OPERATION_RESOLUTION_FAILURE']) {
      expect(isClientCode(code)).toBe(true);
    }
    for (const code of ['INVALID_PRIVACY_PARAMETER', 'MODEL_FILE_MISSING', 'ENOENT', 'toString', '__proto__']) expect(isClientCode(code)).toBe(false);
  });

  it("passes GraphQL's own codes through and classifies resolver errors with the one mapping", () => {
    const parse = formatGraphQLError({ message: 'Syntax Error', extensions: { code: 'GRAPHQL_PARSE_FAILED' } }, new GraphQLError('Syntax Error'));
    expect(parse.extensions).toEqual({ code: 'GRAPHQL_PARSE_FAILED' });
    const privacy = new PrivacyError('INVALID_PRIVACY_PARAMETER', 'epsilon', 'must be a finite number > 0, got -1');
    const resolver = formatGraphQLError(
      { message: 'x', path: ['createRelease'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
      new GraphQLError('x', { originalError: privacy }),
    );
    expect(resolver).toEqual({ message: 'epsilon must be a finite number > 0, got -1', path: ['createRelease'], locations: undefined, extensions: { code: 'BAD_USER_INPUT', field: 'epsilon' } });
  });
});

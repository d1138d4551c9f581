import { type Command, InvalidArgumentError, Option } from 'commander';
import { GatewayClient, output, withConnection, type ConnectionOptions } from './gateway-client';

const roles = ['OPERATOR', 'ADMIN', 'DATA_OWNER', 'CONSUMER', 'COMPLIANCE'];

function days(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 3650) throw new InvalidArgumentError('must be a whole number of days from 1 to 3650.');
  return value;
}

function scopes(text: string): string[] {
  const list = text.split(',').map((scope) => scope.trim());
  if (list.length === 0 || list.some((scope) => scope !== 'read' && scope !== 'write')) throw new InvalidArgumentError('must be read, write or read,write.');
  return list;
}

/** `synthgate org|user|token ...`: identity administration through the gateway's API. */
export function registerIdentityCommands(program: Command): void {
  const org = program.command('org').description('organisations (the parties of the collaboration)');
  withConnection(org.command('create').description('create an organisation (ADMIN)').argument('<name>', 'its name'))
    .action(async (name: string, options: ConnectionOptions) => {
      const { createOrganization } = await GatewayClient.fromOptions(options).graphql<{ createOrganization: { id: string; name: string } }>(
        'mutation($name: String!) { createOrganization(input: { name: $name }) { id name } }',
        { name },
      );
      output(options, createOrganization, `created organisation ${createOrganization.name}: ${createOrganization.id}`);
    });
  withConnection(org.command('list').description('list the organisations you may see')).action(async (options: ConnectionOptions) => {
    const { organizations } = await GatewayClient.fromOptions(options).graphql<{ organizations: { nodes: { id: string; name: string }[] } }>(
      '{ organizations(first: 100) { nodes { id name } } }',
    );
    output(options, organizations.nodes, organizations.nodes.map((o) => `${o.id}  ${o.name}`).join('\n'));
  });

  const user = program.command('user').description('users, one role each');
  withConnection(
    user
      .command('create')
      .description('create a user (ADMIN)')
      .requiredOption('--org <id>', 'organisation id')
      .requiredOption('--email <email>', 'email address (unique)')
      .addOption(new Option('--role <role>', 'role').choices(roles).makeOptionMandatory())
      .option('--name <name>', 'display name'),
  ).action(async (options: ConnectionOptions & { org: string; email: string; role: string; name?: string }) => {
    const { createUser } = await GatewayClient.fromOptions(options).graphql<{ createUser: { id: string; email: string; role: string } }>(
      'mutation($input: CreateUserInput!) { createUser(input: $input) { id email role } }',
      { input: { organizationId: options.org, email: options.email, role: options.role, displayName: options.name ?? null } },
    );
    output(options, createUser, `created ${createUser.role} ${createUser.email}: ${createUser.id}`);
  });
  withConnection(user.command('list').description('list users').option('--org <id>', 'only this organisation')).action(
    async (options: ConnectionOptions & { org?: string }) => {
      const { users } = await GatewayClient.fromOptions(options).graphql<{ users: { nodes: { id: string; email: string; role: string; organizationId: string }[] } }>(
        'query($org: ID) { users(first: 100, organizationId: $org) { nodes { id email role organizationId } } }',
        { org: options.org ?? null },
      );
      output(options, users.nodes, users.nodes.map((u) => `${u.id}  ${u.role.padEnd(10)}  ${u.email}`).join('\n'));
    },
  );

  const token = program.command('token').description('API tokens (shown once, stored hashed)');
  withConnection(
    token
      .command('create')
      .description('create an API token and print its secret once (on stdout, alone)')
      .requiredOption('--name <name>', 'what the token is for')
      .option('--user <id>', 'whose token (default: yours; an ADMIN for its organisation, the OPERATOR with --reason)')
      .option('--reason <text>', "why a platform operator issues a token for another user (recorded in that organisation's audit log)")
      .option('--scopes <scopes>', 'read or read,write (default read,write)', scopes)
      .option('--expires-in-days <days>', 'lifetime in days (default API_TOKEN_DEFAULT_TTL_DAYS)', days),
  ).action(async (options: ConnectionOptions & { name: string; user?: string; reason?: string; scopes?: string[]; expiresInDays?: number }) => {
    const { createApiToken } = await GatewayClient.fromOptions(options).graphql<{
      createApiToken: { secret: string; token: { id: string; expiresAt: string; scopes: string[] } };
    }>('mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret token { id expiresAt scopes } } }', {
      input: { name: options.name, userId: options.user ?? null, scopes: options.scopes ?? null, expiresInDays: options.expiresInDays ?? null, reason: options.reason ?? null },
    });
    if (options.json) {
      output(options, createApiToken, '');
      return;
    }
    process.stderr.write(`token ${createApiToken.token.id} (${createApiToken.token.scopes.join(',')}), expires ${createApiToken.token.expiresAt}; the secret is shown only now:\n`);
    process.stdout.write(`${createApiToken.secret}\n`);
  });
  withConnection(token.command('revoke').description('revoke an API token').argument('<id>', 'token id')).action(async (id: string, options: ConnectionOptions) => {
    const { revokeApiToken } = await GatewayClient.fromOptions(options).graphql<{ revokeApiToken: { id: string; revokedAt: string } }>(
      'mutation($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }',
      { id },
    );
    output(options, revokeApiToken, `revoked token ${revokeApiToken.id} at ${revokeApiToken.revokedAt}`);
  });
}

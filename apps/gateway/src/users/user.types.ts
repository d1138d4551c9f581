import { Field, ID, InputType, ObjectType, registerEnumType } from '@nestjs/graphql';
import { type Role, type UserEntity } from '@synthgate/persistence';
import { Connection } from '../graphql/pagination';

/** GraphQL needs an enum object; the domain keeps the string-literal union. */
export const RoleEnum = { OPERATOR: 'OPERATOR', ADMIN: 'ADMIN', DATA_OWNER: 'DATA_OWNER', CONSUMER: 'CONSUMER', COMPLIANCE: 'COMPLIANCE' } as const satisfies Record<Role, Role>;
registerEnumType(RoleEnum, { name: 'Role', description: 'What a user may do (DESIGN.md section 1).' });

@ObjectType()
export class User {
  @Field(() => ID)
  id!: string;

  @Field()
  email!: string;

  @Field()
  displayName!: string;

  @Field(() => RoleEnum)
  role!: Role;

  @Field(() => ID)
  organizationId!: string;

  @Field()
  disabled!: boolean;

  @Field()
  createdAt!: Date;
}

export const UserConnection = Connection(User, 'User');

@InputType()
export class CreateUserInput {
  @Field(() => ID)
  organizationId!: string;

  @Field()
  email!: string;

  @Field(() => String, { nullable: true, description: 'Defaults to the part of the email before @.' })
  displayName?: string | null;

  @Field(() => RoleEnum)
  role!: Role;
}

@InputType()
export class UpdateUserInput {
  @Field(() => ID)
  id!: string;

  @Field(() => RoleEnum, { nullable: true })
  role?: Role | null;

  @Field(() => String, { nullable: true })
  displayName?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'A disabled user\'s tokens stop working at once.' })
  disabled?: boolean | null;
}

export function toUser(entity: UserEntity): User {
  return {
    id: entity.id,
    email: entity.email,
    displayName: entity.displayName,
    role: entity.role,
    organizationId: entity.organizationId,
    disabled: entity.disabledAt !== null,
    createdAt: entity.createdAt,
  };
}

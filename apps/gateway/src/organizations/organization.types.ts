import { Field, ID, InputType, ObjectType } from '@nestjs/graphql';
import { type OrganizationEntity } from '@synthgate/persistence';
import { Connection } from '../graphql/pagination';

@ObjectType({ description: 'A party of the collaboration; releases are published to organisations.' })
export class Organization {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field()
  createdAt!: Date;
}

export const OrganizationConnection = Connection(Organization, 'Organization');

@InputType()
export class CreateOrganizationInput {
  @Field({ description: '1 to 200 characters, unique.' })
  name!: string;
}

export function toOrganization(entity: OrganizationEntity): Organization {
  return { id: entity.id, name: entity.name, createdAt: entity.createdAt };
}

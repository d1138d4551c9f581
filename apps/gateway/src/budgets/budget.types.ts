import { Field, Float, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { type LedgerEntryEntity, type LedgerEntryKind } from '@synthgate/persistence';
import GraphQLJSON from '../graphql/json.scalar';
import { Connection } from '../graphql/pagination';

export const LedgerEntryKindEnum = { DEBIT: 'DEBIT', REFUND: 'REFUND' } as const satisfies Record<LedgerEntryKind, LedgerEntryKind>;
registerEnumType(LedgerEntryKindEnum, { name: 'LedgerEntryKind' });

@ObjectType({ description: 'One append-only, hash-chained entry of a dataset\'s budget ledger.' })
export class LedgerEntry {
  @Field(() => Int)
  sequence!: number;

  @Field(() => LedgerEntryKindEnum)
  kind!: LedgerEntryKind;

  @Field(() => ID, { nullable: true })
  releaseId!: string | null;

  @Field(() => Float, { description: 'rho-zCDP charged by this entry (negative for a refund).' })
  rho!: number;

  @Field(() => Float, { description: "The dataset's total rho after this entry." })
  totalRho!: number;

  @Field(() => Float, { description: "The dataset's spent epsilon after this entry, at its delta." })
  epsilonAfter!: number;

  @Field(() => Float)
  delta!: number;

  @Field()
  conversion!: string;

  @Field(() => GraphQLJSON, { description: 'The release\'s mechanism parameters and cost.' })
  parameters!: Record<string, unknown>;

  @Field(() => ID, { nullable: true })
  actorUserId!: string | null;

  @Field()
  createdAt!: Date;

  @Field()
  previousHash!: string;

  @Field()
  hash!: string;
}

export const LedgerEntryConnection = Connection(LedgerEntry, 'LedgerEntry');

@ObjectType()
export class BrokenLedgerEntry {
  @Field(() => Int)
  sequence!: number;

  @Field()
  reason!: string;
}

@ObjectType({ description: 'The result of recomputing a ledger\'s hash chain and totals.' })
export class LedgerVerification {
  @Field()
  ok!: boolean;

  @Field(() => Int)
  entries!: number;

  @Field(() => Float)
  totalRho!: number;

  @Field(() => Float)
  spentEpsilon!: number;

  @Field(() => BrokenLedgerEntry, { nullable: true })
  firstBroken!: BrokenLedgerEntry | null;
}

export function toLedgerEntry(entity: LedgerEntryEntity): LedgerEntry {
  return {
    sequence: entity.sequence,
    kind: entity.kind,
    releaseId: entity.releaseId,
    rho: entity.rho,
    totalRho: entity.totalRho,
    epsilonAfter: entity.epsilonAfter,
    delta: entity.delta,
    conversion: entity.conversion,
    parameters: entity.parameters,
    actorUserId: entity.actorUserId,
    createdAt: entity.createdAt,
    previousHash: entity.previousHash,
    hash: entity.hash,
  };
}

@ObjectType({ description: "A dataset's privacy budget in (epsilon, delta)-DP over all its releases, and what is spent." })
export class Budget {
  @Field(() => Float)
  epsilon!: number;

  @Field(() => Float)
  delta!: number;

  @Field(() => Float, { description: 'Total rho-zCDP charged by the ledger.' })
  spentRho!: number;

  @Field(() => Float, { description: 'Epsilon spent at delta: the tight conversion (Canonne, Kamath, Steinke 2020) of the total rho.' })
  spentEpsilon!: number;

  @Field(() => Float, { description: 'The same with the closed form rho + 2 sqrt(rho ln(1/delta)), for comparison.' })
  closedFormSpentEpsilon!: number;

  @Field(() => Float)
  remainingEpsilon!: number;

  @Field(() => Int, { description: 'NON_PRIVATE_REFERENCE releases (benchmark datasets only) that read the records with no privacy guarantee; the ledger does not hold them.' })
  nonPrivateReleases!: number;

  @Field(() => [String], { description: 'Why releases would be refused as things stand, e.g. delta not below 1/record count.' })
  warnings!: string[];

  /** For the ledger and verification fields. */
  datasetId!: string;
}

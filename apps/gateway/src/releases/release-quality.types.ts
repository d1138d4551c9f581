import { Field, Float, Int, ObjectType } from '@nestjs/graphql';
import { LabelCount } from './release.types';

// The quality and replay report of a release (libs/quality): computed from sensitive records, so
// only the owning organisation's DATA_OWNER and COMPLIANCE ever read it.

@ObjectType()
export class LengthStatistics {
  @Field(() => Float)
  min!: number;

  @Field(() => Float)
  max!: number;

  @Field(() => Float)
  mean!: number;

  @Field(() => Float)
  median!: number;
}

@ObjectType({ description: 'Duplicates inside a release, by normalised words (case and punctuation aside).' })
export class DuplicateStatistics {
  @Field(() => Int)
  distinctTexts!: number;

  @Field(() => Int, { description: "Records whose words equal an earlier record's." })
  duplicateRecords!: number;

  @Field(() => Int)
  largestGroup!: number;
}

@ObjectType({ description: 'A synthetic record that replays sensitive text.' })
export class FlaggedRecord {
  @Field(() => Int)
  ordinal!: number;

  @Field(() => String, { nullable: true })
  label!: string | null;

  @Field(() => Int)
  longestSharedNgram!: number;

  @Field()
  exactMatch!: boolean;
}

@ObjectType({ description: "Replay checks of a release's synthetic records against the sensitive records." })
export class ReplayStatistics {
  @Field(() => Int, { description: 'Words in a run that counts as replay (8).' })
  ngramSize!: number;

  @Field(() => Int)
  sensitiveRecordsCompared!: number;

  @Field(() => Int, { description: "Synthetic records whose words equal some sensitive record's." })
  exactMatches!: number;

  @Field(() => Int, { description: 'Synthetic records sharing a run of ngramSize words with some sensitive record.' })
  recordsSharingNgram!: number;

  @Field(() => Float)
  ngramShare!: number;

  @Field(() => Float, { description: "Share of records that share an ngramSize-word run or copy a record: compared with the dataset's replayThreshold." })
  replayShare!: number;

  @Field(() => Int, { description: 'The longest run of words any synthetic record shares with any sensitive record.' })
  longestSharedNgram!: number;

  @Field(() => Float)
  meanLongestSharedNgram!: number;

  @Field(() => [FlaggedRecord], { description: 'Up to 20 replaying records, longest shared run first.' })
  flagged!: FlaggedRecord[];
}

@ObjectType({ description: 'Computed by the worker when a release succeeds, from sensitive records: DATA_OWNER and COMPLIANCE of the organisation only.' })
export class ReleaseQualityReport {
  @Field()
  computedAt!: Date;

  @Field(() => Int)
  records!: number;

  @Field(() => [LabelCount])
  labelCounts!: LabelCount[];

  @Field(() => Int, { description: 'Records with no word.' })
  emptyRecords!: number;

  @Field(() => LengthStatistics, { description: 'Words per record.' })
  words!: LengthStatistics;

  @Field(() => LengthStatistics, { description: 'Characters per record.' })
  characters!: LengthStatistics;

  @Field(() => DuplicateStatistics)
  duplicates!: DuplicateStatistics;

  @Field(() => ReplayStatistics)
  replay!: ReplayStatistics;
}

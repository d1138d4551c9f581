import { Field, Float, ObjectType } from '@nestjs/graphql';
import { type FieldValue, fieldValue, type RecordSchema, type StructuredRecord } from '@synthgate/records';
import { RecordFieldKind } from '../datasets/record-schema.types';

@ObjectType({
  description:
    "One field of a synthetic record, typed by the record schema: TEXT and CATEGORY values in stringValue, INTEGER and NUMBER in numberValue, BOOLEAN in booleanValue; all null for a missing optional value.",
})
export class RecordFieldValue {
  @Field()
  name!: string;

  @Field(() => RecordFieldKind)
  kind!: RecordFieldKind;

  @Field(() => String, { nullable: true })
  stringValue!: string | null;

  @Field(() => Float, { nullable: true, description: 'INTEGER values are whole numbers (within +-2^53).' })
  numberValue!: number | null;

  @Field(() => Boolean, { nullable: true })
  booleanValue!: boolean | null;
}

/** The record's fields in schema order, each in the accessor of its kind. */
export function toRecordFieldValues(schema: RecordSchema, values: StructuredRecord): RecordFieldValue[] {
  return schema.fields.map((field) => {
    const value: FieldValue = fieldValue(values, field.name);
    return {
      name: field.name,
      kind: field.type.kind.toUpperCase() as RecordFieldKind,
      stringValue: typeof value === 'string' ? value : null,
      numberValue: typeof value === 'number' ? value : null,
      booleanValue: typeof value === 'boolean' ? value : null,
    };
  });
}

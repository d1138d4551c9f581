import { Field, Float, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { type FieldKind, type FieldSpec, type RecordSchema as DeclaredSchema } from '@synthgate/records';

/**
 * The FieldKind of libs/records in upper case, as GraphQL enums are written. Values equal names:
 * input variables are coerced twice (the complexity estimate, then execution), and a second
 * coercion refuses an internal value that differs from its name.
 */
export enum RecordFieldKind {
  TEXT = 'TEXT',
  CATEGORY = 'CATEGORY',
  INTEGER = 'INTEGER',
  NUMBER = 'NUMBER',
  BOOLEAN = 'BOOLEAN',
}
registerEnumType(RecordFieldKind, { name: 'RecordFieldKind', description: 'The type of one field of a record schema.' });

@ObjectType({ description: 'One field of a record schema. Which bounds are set depends on its kind.' })
export class RecordField {
  @Field({ description: 'The JSON key and CSV column of the field (letters, digits, underscores).' })
  name!: string;

  @Field(() => RecordFieldKind)
  kind!: RecordFieldKind;

  @Field({ description: 'An optional field may be missing or null (an empty CSV cell).' })
  optional!: boolean;

  @Field(() => Int, { nullable: true, description: 'TEXT: the most tokens a release generates for it.' })
  maxTokens!: number | null;

  @Field(() => Int, { nullable: true, description: "TEXT: the most characters an imported value may have (null: the gateway's IMPORT_MAX_RECORD_CHARS)." })
  maxChars!: number | null;

  @Field(() => [String], { nullable: true, description: 'CATEGORY: the declared values; any other is refused.' })
  values!: string[] | null;

  @Field(() => Float, { nullable: true, description: 'INTEGER and NUMBER: the smallest value allowed.' })
  min!: number | null;

  @Field(() => Float, { nullable: true, description: 'INTEGER and NUMBER: the largest value allowed.' })
  max!: number | null;

  @Field(() => Int, { nullable: true, description: 'NUMBER: the most digits after the point.' })
  decimals!: number | null;
}

@ObjectType({ description: "A dataset's declared record schema: public metadata, like column names." })
export class RecordSchema {
  @Field(() => [RecordField], { description: 'In the order records are generated and exported.' })
  fields!: RecordField[];

  @Field(() => String, { nullable: true, description: 'The category field releases condition batches on (as labels), or null.' })
  conditionField!: string | null;
}

@InputType({ description: 'One field to declare. Give the bounds its kind needs and no others.' })
export class RecordFieldInput {
  @Field()
  name!: string;

  @Field(() => RecordFieldKind)
  kind!: RecordFieldKind;

  @Field(() => Boolean, { nullable: true, description: 'Default false.' })
  optional?: boolean | null;

  @Field(() => Int, { nullable: true, description: 'TEXT (required): 1 to 2048.' })
  maxTokens?: number | null;

  @Field(() => Int, { nullable: true, description: "TEXT: the most characters of an imported value (default: the gateway's IMPORT_MAX_RECORD_CHARS)." })
  maxChars?: number | null;

  @Field(() => [String], { nullable: true, description: 'CATEGORY (required): 1 to 1000 distinct values.' })
  values?: string[] | null;

  @Field(() => Float, { nullable: true, description: 'INTEGER and NUMBER (required).' })
  min?: number | null;

  @Field(() => Float, { nullable: true, description: 'INTEGER and NUMBER (required), at least min.' })
  max?: number | null;

  @Field(() => Int, { nullable: true, description: 'NUMBER (required): 0 to 15 digits after the point.' })
  decimals?: number | null;
}

@InputType({ description: 'A record schema to declare at dataset creation (fixed afterwards, except new values of the condition field).' })
export class RecordSchemaInput {
  @Field(() => [RecordFieldInput])
  fields!: RecordFieldInput[];

  @Field(() => String, { nullable: true, description: 'A required CATEGORY field to condition batches on (as labels).' })
  conditionField?: string | null;
}

const boundsByKind: Readonly<Record<FieldKind, readonly (keyof RecordFieldInput)[]>> = {
  text: ['maxTokens', 'maxChars'],
  category: ['values'],
  integer: ['min', 'max'],
  number: ['min', 'max', 'decimals'],
  boolean: [],
};

/**
 * The GraphQL input as the plain object libs/records validates: a field's `type` gets its kind and
 * every bound given (a bound of another kind is passed on, so validation names it).
 */
export function schemaDefinition(input: RecordSchemaInput): unknown {
  const bounds: (keyof RecordFieldInput)[] = ['maxTokens', 'maxChars', 'values', 'min', 'max', 'decimals'];
  return {
    fields: input.fields.map((field) => {
      const type: Record<string, unknown> = { kind: typeof field.kind === 'string' ? field.kind.toLowerCase() : field.kind };
      for (const bound of bounds) {
        if (field[bound] !== undefined && field[bound] !== null) type[bound] = field[bound];
      }
      return { name: field.name, type, ...(field.optional !== undefined && field.optional !== null ? { optional: field.optional } : {}) };
    }),
    conditionField: input.conditionField ?? null,
  };
}

function toRecordField(field: FieldSpec): RecordField {
  const type = field.type as Partial<Record<string, unknown>> & { kind: FieldKind };
  const bound = <T>(name: string): T | null => (boundsByKind[type.kind].includes(name as keyof RecordFieldInput) && type[name] !== undefined ? (type[name] as T) : null);
  return {
    name: field.name,
    kind: type.kind.toUpperCase() as RecordFieldKind,
    optional: field.optional,
    maxTokens: bound<number>('maxTokens'),
    maxChars: bound<number>('maxChars'),
    values: bound<string[]>('values'),
    min: bound<number>('min'),
    max: bound<number>('max'),
    decimals: bound<number>('decimals'),
  };
}

export function toRecordSchema(schema: DeclaredSchema): RecordSchema {
  return { fields: schema.fields.map(toRecordField), conditionField: schema.conditionField };
}

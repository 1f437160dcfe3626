/** Shape of `datamodel.json`, the trimmed XenAPI datamodel devpool generates its method tables from. */

/** `[name, type, qualifier, default?]`; qualifier is `RW`, `RO/constructor` or `RO/runtime`. */
export type DatamodelField = [string, string, string] | [string, string, string, string];

/** `[name, params as [type, name][], result type, implicit]`. Implicit messages are xapi's generated accessors. */
export type DatamodelMessage = [string, [string, string][], string, boolean];

export interface DatamodelClass {
  name: string;
  fields: DatamodelField[];
  messages: DatamodelMessage[];
}

export interface DatamodelFile {
  source: string;
  enums: Record<string, string[]>;
  classes: DatamodelClass[];
}

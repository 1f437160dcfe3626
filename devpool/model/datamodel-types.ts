/** Shape of `datamodel.json`, the trimmed XenAPI datamodel devpool generates its method tables from. */

/** `[name, type, qualifier, default?]`; qualifier is `RW`, `RO/constructor` or `RO/runtime`. */
export type DatamodelField = [string, string, string] | [string, string, string, string];

/**
 * `[name, params as [type, name][], result type, implicit, least privileged role?]`. Implicit messages are xapi's
 * generated accessors. The role is the last of xapi's ordered roles allowed to call the message (every role before
 * it in `ROLES` may too); "" when none may.
 */
export type DatamodelMessage =
  [string, [string, string][], string, boolean] | [string, [string, string][], string, boolean, string];

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

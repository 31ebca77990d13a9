// Placeholder: being written by the core engineer. Exports `handler`.
export const handler = async (_event: unknown): Promise<unknown> => {
  throw new Error("not implemented");
};

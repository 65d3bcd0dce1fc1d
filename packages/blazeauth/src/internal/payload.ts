/** A copy of `payload` without `key`: a response's fields without its id, a header without what is never checked. */
export const without = (payload: object, key: string): { readonly [key: string]: unknown } =>
  Object.fromEntries(Object.entries(payload).filter(([name]) => name !== key))

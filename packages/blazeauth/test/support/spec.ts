/**
 * The spec's tables and examples as data, for the codec tests: field order per usecase (§3, §4.3, §5), the
 * integer wire type of each field (§1.3), and every JSON example of §1.2, §3.2, §4.10 and §5, verbatim.
 */

/** How a field's value is spelled on the wire. */
export type Kind = "id" | "u53" | "i53" | "int32" | "string" | "boolean" | "levels" | "string_map"

/** Field kinds by name (`content` is a string in `get_variable` and a string map in panel events). */
export const kinds: { readonly [field: string]: Kind } = {
  id: "id",
  offset: "u53",
  size: "u53",
  file_size: "i53",
  ttl: "i53",
  time_left: "i53",
  retry_after: "i53",
  last_transferred_at: "i53",
  status: "int32",
  credentials_type: "int32",
  event_type: "int32",
  chunk_size: "int32",
  transfer_count: "int32",
  online_users_count: "int32",
  socket_api_key: "string",
  client_id: "string",
  app_name: "string",
  app_version: "string",
  login: "string",
  password: "string",
  comment: "string",
  license: "string",
  ip_address: "string",
  filename: "string",
  transfer_id: "string",
  resume_token: "string",
  checksum: "string",
  file_checksum: "string",
  range_checksum: "string",
  name: "string",
  content: "string",
  key: "string",
  value: "string",
  levels: "levels",
  license_required: "boolean",
  issue_token: "boolean",
  binary_data: "boolean"
}

/** Fields whose JSON type includes `null`, by payload (`"<usecase> request"` or `"<usecase> response"`). */
const nullableFields: { readonly [payload: string]: ReadonlyArray<string> } = {
  "create_account request": ["comment", "license"],
  "auth_by_credentials request": ["license"],
  "set_session_value request": ["ttl"],
  "auth_by_license response": ["comment", "ip_address"],
  "get_current_license response": ["comment", "ip_address"],
  "auth_by_credentials response": ["comment", "ip_address"],
  "get_current_account response": ["comment", "ip_address"],
  "get_file_metadata response": ["last_transferred_at"]
}

/** Whether a field of a payload (`"<usecase> request"`, `"<usecase> response"`) may be `null`. */
export const isNullable = (payload: string, field: string): boolean => nullableFields[payload]?.includes(field) ?? false

const licenseResponse = ["id", "license", "levels", "comment", "ip_address", "time_left", "status"]
const accountResponse = ["id", "login", "levels", "comment", "ip_address", "time_left", "license_required", "status"]

/** §4.3, in table order. */
export const headerFields: ReadonlyArray<string> = [
  "id",
  "transfer_id",
  "binary_data",
  "chunk_size",
  "offset",
  "file_size",
  "status",
  "file_checksum",
  "range_checksum"
]

/** §5. */
export const panelEventFields: ReadonlyArray<string> = ["id", "event_type", "content"]

/** One row per usecase 0..18: name, request fields (required ones marked), response fields, in table order. */
export const usecases: ReadonlyArray<{
  readonly name: string
  readonly request: ReadonlyArray<string>
  readonly required: ReadonlyArray<string>
  readonly response: ReadonlyArray<string>
}> = [
  { name: "ping", request: ["id"], required: ["id"], response: ["id"] },
  {
    name: "initialize",
    request: ["id", "socket_api_key", "client_id"],
    required: ["id", "socket_api_key", "client_id"],
    response: ["id", "app_name", "app_version", "status"]
  },
  {
    name: "create_account",
    request: ["id", "login", "password", "comment", "license", "credentials_type"],
    required: ["id", "login", "password", "credentials_type"],
    response: ["id", "retry_after", "status"]
  },
  { name: "auth_by_license", request: ["id", "license"], required: ["id", "license"], response: licenseResponse },
  {
    name: "auth_by_credentials",
    request: ["id", "login", "password", "license", "credentials_type"],
    required: ["id", "login", "password", "credentials_type"],
    response: accountResponse
  },
  {
    name: "link_license_to_account",
    request: ["id", "license"],
    required: ["id", "license"],
    response: ["id", "status"]
  },
  { name: "logout", request: ["id"], required: ["id"], response: ["id", "status"] },
  { name: "blacklist", request: ["id", "comment"], required: ["id"], response: ["id", "status"] },
  {
    name: "transfer_file",
    request: ["id", "filename", "offset"],
    required: ["id", "filename"],
    response: headerFields
  },
  {
    name: "stop_file_transfer",
    request: ["id", "transfer_id", "issue_token"],
    required: ["id", "transfer_id"],
    response: ["id", "resume_token", "status"]
  },
  {
    name: "resume_file_transfer",
    request: ["id", "transfer_id", "resume_token"],
    required: ["id", "transfer_id", "resume_token"],
    response: headerFields
  },
  {
    name: "get_file_metadata",
    request: ["id", "filename"],
    required: ["id", "filename"],
    response: ["id", "checksum", "size", "transfer_count", "last_transferred_at", "status"]
  },
  {
    name: "get_online_users_count",
    request: ["id"],
    required: ["id"],
    response: ["id", "online_users_count", "status"]
  },
  { name: "get_variable", request: ["id", "name"], required: ["id", "name"], response: ["id", "content", "status"] },
  // `ttl` is "yes on send, optional on receive".
  {
    name: "set_session_value",
    request: ["id", "key", "value", "ttl"],
    required: ["id", "key", "value"],
    response: ["id", "status"]
  },
  { name: "get_session_value", request: ["id", "key"], required: ["id", "key"], response: ["id", "value", "status"] },
  { name: "get_current_license", request: ["id"], required: ["id"], response: licenseResponse },
  { name: "get_current_account", request: ["id"], required: ["id"], response: accountResponse },
  { name: "panel_event_subscribe", request: ["id"], required: ["id"], response: ["id", "status"] }
]

/** Header fields a receiver needs (`binary_data` is informational, §4.3; the rest come with some headers only). */
export const headerRequired: ReadonlyArray<string> = ["id", "transfer_id", "chunk_size", "offset"]

/** What an example is: a request, a response, a stream header (type 8 from the server) or a panel event. */
export type ExampleKind = "request" | "response" | "header" | "event"

/** Every JSON example of the spec, verbatim, with where it is. They are all canonical (§1.2). */
export const examples: ReadonlyArray<readonly [kind: ExampleKind, where: string, text: string]> = [
  ["request", "§1.2", '{"type":8,"payload":{"id":20,"filename":"client.bin"}}'],
  ["request", "§3.2 #0", '{"type":0,"payload":{"id":7}}'],
  ["response", "§3.2 #0", '{"type":0,"payload":{"id":7}}'],
  [
    "request",
    "§3.2 #1",
    '{"type":1,"payload":{"id":1,"socket_api_key":"BA0123456789ABCDEFGHI","client_id":"desktop-main"}}'
  ],
  ["response", "§3.2 #1", '{"type":1,"payload":{"id":1,"app_name":"Blazeauth Demo","app_version":"1.0.0","status":1}}'],
  [
    "request",
    "§3.2 #2",
    '{"type":2,"payload":{"id":2,"login":"user@example.com","password":"strong-password","comment":"trial user","credentials_type":1}}'
  ],
  ["response", "§3.2 #2", '{"type":2,"payload":{"id":2,"status":1}}'],
  ["response", "§3.2 #2 throttled", '{"type":2,"payload":{"id":2,"retry_after":86390,"status":5}}'],
  ["request", "§3.2 #3", '{"type":3,"payload":{"id":3,"license":"ABCDEF-123456"}}'],
  [
    "response",
    "§3.2 #3",
    '{"type":3,"payload":{"id":3,"license":"ABCDEF-123456","levels":["pro"],"comment":"main seat","ip_address":"203.0.113.10","time_left":1767225600,"status":1}}'
  ],
  [
    "request",
    "§3.2 #4",
    '{"type":4,"payload":{"id":4,"login":"user@example.com","password":"strong-password","credentials_type":1}}'
  ],
  [
    "response",
    "§3.2 #4",
    '{"type":4,"payload":{"id":4,"login":"user@example.com","levels":["pro"],"comment":null,"ip_address":"203.0.113.10","time_left":1767225600,"license_required":true,"status":1}}'
  ],
  ["request", "§3.2 #5", '{"type":5,"payload":{"id":5,"license":"ABCDEF-654321"}}'],
  ["response", "§3.2 #5", '{"type":5,"payload":{"id":5,"status":1}}'],
  ["request", "§3.2 #6", '{"type":6,"payload":{"id":6}}'],
  ["response", "§3.2 #6", '{"type":6,"payload":{"id":6,"status":1}}'],
  ["request", "§3.2 #7", '{"type":7,"payload":{"id":7,"comment":"fraud detected"}}'],
  ["response", "§3.2 #7", '{"type":7,"payload":{"id":7,"status":1}}'],
  ["request", "§3.2 #12", '{"type":12,"payload":{"id":12}}'],
  ["response", "§3.2 #12", '{"type":12,"payload":{"id":12,"online_users_count":100,"status":1}}'],
  ["request", "§3.2 #13", '{"type":13,"payload":{"id":13,"name":"launcher_config"}}'],
  ["response", "§3.2 #13", '{"type":13,"payload":{"id":13,"content":"{\\"featureFlag\\":true}","status":1}}'],
  ["request", "§3.2 #14", '{"type":14,"payload":{"id":14,"key":"launcher_token","value":"abc123","ttl":3600}}'],
  ["response", "§3.2 #14", '{"type":14,"payload":{"id":14,"status":1}}'],
  ["request", "§3.2 #15", '{"type":15,"payload":{"id":15,"key":"launcher_token"}}'],
  ["response", "§3.2 #15", '{"type":15,"payload":{"id":15,"value":"abc123","status":1}}'],
  ["request", "§3.2 #16", '{"type":16,"payload":{"id":16}}'],
  [
    "response",
    "§3.2 #16",
    '{"type":16,"payload":{"id":16,"license":"ABCDEF-123456","levels":["pro"],"comment":"main seat","ip_address":"203.0.113.10","time_left":1767225600,"status":1}}'
  ],
  ["request", "§3.2 #17", '{"type":17,"payload":{"id":17}}'],
  [
    "response",
    "§3.2 #17",
    '{"type":17,"payload":{"id":17,"login":"user@example.com","levels":["pro"],"comment":null,"ip_address":"203.0.113.10","time_left":1767225600,"license_required":true,"status":1}}'
  ],
  ["request", "§3.2 #18", '{"type":18,"payload":{"id":18}}'],
  ["response", "§3.2 #18", '{"type":18,"payload":{"id":18,"status":1}}'],
  ["request", "§4.10", '{"type":11,"payload":{"id":19,"filename":"client.bin"}}'],
  [
    "response",
    "§4.10",
    '{"type":11,"payload":{"id":19,"checksum":"6bc14bdc4517a7a682c6910de2e2946eb8e1ecd04090728fef6d092a7ceb62c5","size":20,"transfer_count":0,"last_transferred_at":null,"status":1}}'
  ],
  ["request", "§4.10", '{"type":8,"payload":{"id":20,"filename":"client.bin"}}'],
  [
    "header",
    "§4.10",
    '{"type":8,"payload":{"id":20,"transfer_id":"5f0c2a9e4b7d41c3a8e6d2b1f0a9c8e7","binary_data":true,"chunk_size":8,"offset":0,"file_size":20}}'
  ],
  [
    "header",
    "§4.10",
    '{"type":8,"payload":{"id":20,"transfer_id":"5f0c2a9e4b7d41c3a8e6d2b1f0a9c8e7","binary_data":true,"chunk_size":8,"offset":8}}'
  ],
  [
    "header",
    "§4.10",
    '{"type":8,"payload":{"id":20,"transfer_id":"5f0c2a9e4b7d41c3a8e6d2b1f0a9c8e7","binary_data":true,"chunk_size":4,"offset":16,"status":1,"file_checksum":"6bc14bdc4517a7a682c6910de2e2946eb8e1ecd04090728fef6d092a7ceb62c5","range_checksum":"6bc14bdc4517a7a682c6910de2e2946eb8e1ecd04090728fef6d092a7ceb62c5"}}'
  ],
  ["request", "§4.10", '{"type":8,"payload":{"id":21,"filename":"client.bin"}}'],
  [
    "header",
    "§4.10",
    '{"type":8,"payload":{"id":21,"transfer_id":"0d4e8b2c6a1f43e9b7c5d3a1e9f7b5c3","binary_data":true,"chunk_size":8,"offset":0,"file_size":20}}'
  ],
  [
    "request",
    "§4.10",
    '{"type":9,"payload":{"id":22,"transfer_id":"0d4e8b2c6a1f43e9b7c5d3a1e9f7b5c3","issue_token":true}}'
  ],
  [
    "header",
    "§4.10",
    '{"type":8,"payload":{"id":21,"transfer_id":"0d4e8b2c6a1f43e9b7c5d3a1e9f7b5c3","binary_data":true,"chunk_size":8,"offset":8}}'
  ],
  [
    "response",
    "§4.10",
    '{"type":9,"payload":{"id":22,"resume_token":"mYU4uR6KL3vWk1EWu4QGPuOGpkJWmu5-h1kw7qzOjq4","status":1}}'
  ],
  [
    "header",
    "§4.10",
    '{"type":8,"payload":{"id":21,"transfer_id":"0d4e8b2c6a1f43e9b7c5d3a1e9f7b5c3","binary_data":true,"chunk_size":0,"offset":16,"status":308}}'
  ],
  [
    "request",
    "§4.10",
    '{"type":10,"payload":{"id":23,"transfer_id":"0d4e8b2c6a1f43e9b7c5d3a1e9f7b5c3","resume_token":"mYU4uR6KL3vWk1EWu4QGPuOGpkJWmu5-h1kw7qzOjq4"}}'
  ],
  [
    "header",
    "§4.10",
    '{"type":8,"payload":{"id":23,"transfer_id":"0d4e8b2c6a1f43e9b7c5d3a1e9f7b5c3","binary_data":true,"chunk_size":4,"offset":16,"file_size":20,"status":1,"file_checksum":"6bc14bdc4517a7a682c6910de2e2946eb8e1ecd04090728fef6d092a7ceb62c5","range_checksum":"975ca72b6bdf0e938bcc214727c939f7fc64109ee8f14add455a2364e8d1451f"}}'
  ],
  [
    "header",
    "§4.10",
    '{"type":8,"payload":{"id":24,"transfer_id":"9a1b2c3d4e5f60718293a4b5c6d7e8f9","binary_data":true,"chunk_size":0,"offset":0,"file_size":0,"status":1,"file_checksum":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","range_checksum":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}}'
  ],
  [
    "header",
    "§4.10",
    '{"type":8,"payload":{"id":25,"transfer_id":"1f2e3d4c5b6a79880716253443526170","binary_data":true,"chunk_size":0,"offset":0,"status":300}}'
  ],
  ["event", "§5", '{"type":18,"payload":{"id":18446744073709551615,"event_type":2,"content":{"version":"1.2.3"}}}']
]

/** The text of the first example of this kind whose place starts with `where`. */
export const example = (kind: ExampleKind, where: string): string => {
  const found = examples.find(([k, w]) => k === kind && w.startsWith(where))
  if (found === undefined) throw new Error(`no ${kind} example at ${where}`)
  return found[2]
}

/** The first example of this kind whose `type` is `type`. */
export const exampleOfType = (kind: ExampleKind, type: number): string | undefined =>
  examples.find(([k, , text]) => k === kind && text.startsWith(`{"type":${type},`))?.[2]

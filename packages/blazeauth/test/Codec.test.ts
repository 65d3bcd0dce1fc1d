import * as Envelope from "@protokernel/blazeauth/Envelope"
import * as PanelEvent from "@protokernel/blazeauth/PanelEvent"
import * as Status from "@protokernel/blazeauth/Status"
import * as Usecase from "@protokernel/blazeauth/Usecase"
import * as Json from "@protokernel/wire/Json"
import * as Uint64 from "@protokernel/wire/Uint64"
import { assert, describe, expect, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck as fc, Option, ParseResult, Redacted, Schema, SchemaAST as AST } from "effect"
import { fuzzParameters } from "../../../test/kit/fuzz.js"
import { jsonText, show } from "../../../test/kit/json.js"
import { left, right } from "../../../test/kit/unwrap.js"
import { reveal } from "./support/reveal.js"
import * as Spec from "./support/spec.js"

type Payload = { readonly [key: string]: unknown }

const isPayload = (value: unknown): value is Payload =>
  typeof value === "object" && value !== null && !Array.isArray(value) && !Json.isDecimal(value)

/** The envelope of a canonical text, checked for `type` first, then `payload`. */
const envelopeOf = (text: string): Envelope.Envelope => {
  const parsed = right(Json.parse(text))
  assert.isTrue(isPayload(parsed))
  assert.deepStrictEqual(Object.keys(parsed as Payload), ["type", "payload"])
  // Compact, and escaped as JSON.stringify escapes: printing the parsed text again changes nothing.
  assert.strictEqual(Json.stringify(parsed), text)
  return right(Envelope.decode(text))
}

/** The wire form of every integer field: a JSON integer (an id may be a bigint), never a string. */
const assertIntegersAreLiterals = (payload: Payload) => {
  for (const [field, value] of Object.entries(payload)) {
    const kind = Spec.kinds[field]
    if (kind === "id") assert.isTrue(typeof value === "number" || typeof value === "bigint", field)
    if (kind === "u53" || kind === "i53" || kind === "int32") {
      assert.isTrue(value === null || (typeof value === "number" && Number.isSafeInteger(value)), field)
    }
  }
}

/**
 * domain → canonical text → Envelope.decode → payload decoder → the same domain value; the text has `type`
 * first, then `payload` with its keys in the spec's table order, and encoding the decoded value gives it again.
 */
const assertRoundTrip = <A>(
  type: number,
  fields: ReadonlyArray<string>,
  value: A,
  encode: (value: A) => Either.Either<string, ParseResult.ParseError>,
  decode: (payload: unknown) => Either.Either<A, ParseResult.ParseError>,
  schema: AST.AST
) => {
  const text = right(encode(value))
  const envelope = envelopeOf(text)
  assert.strictEqual(envelope.type, type)
  assert.isTrue(isPayload(value))
  const present = fields.filter((field) => Object.hasOwn(value as Payload, field))
  assert.deepStrictEqual(Object.keys(envelope.payload), present)
  assertIntegersAreLiterals(envelope.payload)
  const decoded = right(decode(envelope.payload))
  expect(reveal(decoded)).toEqual(reveal(value))
  assertSameAsSchema(decode(envelope.payload), reference(schema)(envelope.payload), "round trip")
  assert.strictEqual(right(encode(decoded)), text)
}

/** Registers the request and response round trips of one usecase, with arbitraries from its Schemas. */
const roundTrips = <U extends Usecase.Any>(
  usecase: U,
  requests: fc.Arbitrary<Usecase.Request<U>>,
  responses: fc.Arbitrary<Usecase.Response<U>>
) => {
  const spec = Spec.usecases[usecase.type]!
  it.prop(
    `#${usecase.type} ${usecase.name}: requests round-trip through the canonical wire form`,
    [requests],
    ([request]) =>
      assertRoundTrip(
        usecase.type,
        spec.request,
        request,
        (value) => Usecase.encodeRequest(usecase, value),
        (payload) => Usecase.decodeRequest(usecase, payload),
        usecase.request.ast
      ),
    { fastCheck: fuzzParameters(100) }
  )
  it.prop(
    `#${usecase.type} ${usecase.name}: responses round-trip through the canonical wire form`,
    [responses],
    ([response]) =>
      assertRoundTrip(
        usecase.type,
        spec.response,
        response,
        (value) => Usecase.encodeResponse(usecase, value),
        (payload) => Usecase.decodeResponse(usecase, payload),
        usecase.response.ast
      ),
    { fastCheck: fuzzParameters(100) }
  )
}

/** A usecase with the arbitraries of its Schemas. */
const withArbitraries = <U extends Usecase.Any>(
  usecase: U,
  requests: fc.Arbitrary<Usecase.Request<U>>,
  responses: fc.Arbitrary<Usecase.Response<U>>
) => ({ usecase, register: () => roundTrips(usecase, requests, responses) })

const cases = [
  withArbitraries(Usecase.Ping, Arbitrary.make(Usecase.Ping.request), Arbitrary.make(Usecase.Ping.response)),
  withArbitraries(
    Usecase.Initialize,
    Arbitrary.make(Usecase.Initialize.request),
    Arbitrary.make(Usecase.Initialize.response)
  ),
  withArbitraries(
    Usecase.CreateAccount,
    Arbitrary.make(Usecase.CreateAccount.request),
    Arbitrary.make(Usecase.CreateAccount.response)
  ),
  withArbitraries(
    Usecase.AuthByLicense,
    Arbitrary.make(Usecase.AuthByLicense.request),
    Arbitrary.make(Usecase.AuthByLicense.response)
  ),
  withArbitraries(
    Usecase.AuthByCredentials,
    Arbitrary.make(Usecase.AuthByCredentials.request),
    Arbitrary.make(Usecase.AuthByCredentials.response)
  ),
  withArbitraries(
    Usecase.LinkLicenseToAccount,
    Arbitrary.make(Usecase.LinkLicenseToAccount.request),
    Arbitrary.make(Usecase.LinkLicenseToAccount.response)
  ),
  withArbitraries(Usecase.Logout, Arbitrary.make(Usecase.Logout.request), Arbitrary.make(Usecase.Logout.response)),
  withArbitraries(
    Usecase.Blacklist,
    Arbitrary.make(Usecase.Blacklist.request),
    Arbitrary.make(Usecase.Blacklist.response)
  ),
  withArbitraries(
    Usecase.TransferFile,
    Arbitrary.make(Usecase.TransferFile.request),
    Arbitrary.make(Usecase.TransferFile.response)
  ),
  withArbitraries(
    Usecase.StopFileTransfer,
    Arbitrary.make(Usecase.StopFileTransfer.request),
    Arbitrary.make(Usecase.StopFileTransfer.response)
  ),
  withArbitraries(
    Usecase.ResumeFileTransfer,
    Arbitrary.make(Usecase.ResumeFileTransfer.request),
    Arbitrary.make(Usecase.ResumeFileTransfer.response)
  ),
  withArbitraries(
    Usecase.GetFileMetadata,
    Arbitrary.make(Usecase.GetFileMetadata.request),
    Arbitrary.make(Usecase.GetFileMetadata.response)
  ),
  withArbitraries(
    Usecase.GetOnlineUsersCount,
    Arbitrary.make(Usecase.GetOnlineUsersCount.request),
    Arbitrary.make(Usecase.GetOnlineUsersCount.response)
  ),
  withArbitraries(
    Usecase.GetVariable,
    Arbitrary.make(Usecase.GetVariable.request),
    Arbitrary.make(Usecase.GetVariable.response)
  ),
  withArbitraries(
    Usecase.SetSessionValue,
    Arbitrary.make(Usecase.SetSessionValue.request),
    Arbitrary.make(Usecase.SetSessionValue.response)
  ),
  withArbitraries(
    Usecase.GetSessionValue,
    Arbitrary.make(Usecase.GetSessionValue.request),
    Arbitrary.make(Usecase.GetSessionValue.response)
  ),
  withArbitraries(
    Usecase.GetCurrentLicense,
    Arbitrary.make(Usecase.GetCurrentLicense.request),
    Arbitrary.make(Usecase.GetCurrentLicense.response)
  ),
  withArbitraries(
    Usecase.GetCurrentAccount,
    Arbitrary.make(Usecase.GetCurrentAccount.request),
    Arbitrary.make(Usecase.GetCurrentAccount.response)
  ),
  withArbitraries(
    Usecase.PanelEventSubscribe,
    Arbitrary.make(Usecase.PanelEventSubscribe.request),
    Arbitrary.make(Usecase.PanelEventSubscribe.response)
  )
]

describe("Usecase schemas against the spec's tables", () => {
  it("cover every usecase 0..18 in order, with the spec's names", () => {
    assert.deepStrictEqual(
      Usecase.all.map((usecase) => [usecase.type, usecase.name]),
      Spec.usecases.map((spec, type) => [type, spec.name])
    )
    assert.deepStrictEqual(
      cases.map(({ usecase }) => usecase.type),
      Usecase.all.map((usecase) => usecase.type)
    )
  })

  it("list the fields of each table in its order, id first", () => {
    for (const usecase of Usecase.all) {
      const spec = Spec.usecases[usecase.type]!
      assert.deepStrictEqual(Object.keys(usecase.request.fields), spec.request, `${usecase.name} request`)
      assert.deepStrictEqual(Object.keys(usecase.response.fields), spec.response, `${usecase.name} response`)
    }
    assert.deepStrictEqual(Object.keys(Usecase.TransferHeader.fields), Spec.headerFields)
    assert.deepStrictEqual(Object.keys(PanelEvent.Payload.fields), Spec.panelEventFields)
  })

  it("require exactly the fields the tables mark as required", () => {
    const requestExamples = new Map(
      Spec.examples
        .filter(([kind]) => kind === "request")
        .map(([, , text]) => [right(Envelope.decode(text)).type, right(Envelope.decode(text)).payload] as const)
    )
    const responseExamples = new Map(
      Spec.examples
        .filter(([kind]) => kind === "response")
        .map(([, , text]) => [right(Envelope.decode(text)).type, right(Envelope.decode(text)).payload] as const)
    )
    const withoutField = (payload: Payload, field: string): Payload =>
      Object.fromEntries(Object.entries(payload).filter(([key]) => key !== field))
    for (const usecase of Usecase.all) {
      const spec = Spec.usecases[usecase.type]!
      const request = requestExamples.get(usecase.type)!
      right(Usecase.decodeRequest(usecase, request))
      for (const field of spec.request) {
        const decoded = Usecase.decodeRequest(usecase, withoutField(request, field))
        assert.strictEqual(Either.isLeft(decoded), spec.required.includes(field), `${usecase.name} request ${field}`)
        if (Either.isLeft(decoded)) assert.strictEqual(Usecase.describeError(decoded.left), `["${field}"]: is missing`)
      }
      // Every response field but `id` comes with some statuses only, so the Schema leaves them optional (§1.5).
      const response = responseExamples.get(usecase.type)
      if (response === undefined) continue
      for (const field of spec.response) {
        const decoded = Usecase.decodeResponse(usecase, withoutField(response, field))
        assert.strictEqual(Either.isLeft(decoded), field === "id", `${usecase.name} response ${field}`)
      }
    }
    const header = right(Envelope.decode(Spec.examples.find(([kind]) => kind === "header")![2])).payload
    for (const field of Spec.headerFields) {
      const decoded = Usecase.decodeHeader(withoutField(header, field))
      assert.strictEqual(Either.isLeft(decoded), Spec.headerRequired.includes(field), `header ${field}`)
    }
  })
})

describe("The spec's examples are canonical", () => {
  /** Decodes an example with the decoder of its kind and encodes it again. */
  const reencode = (kind: Spec.ExampleKind, text: string): string => {
    const envelope = right(Envelope.decode(text))
    const usecase = Usecase.all[envelope.type]!
    switch (kind) {
      case "request":
        return right(Usecase.encodeRequest(usecase, right(Usecase.decodeRequest(usecase, envelope.payload))))
      case "response":
        return right(Usecase.encodeResponse(usecase, right(Usecase.decodeResponse(usecase, envelope.payload))))
      case "header":
        assert.strictEqual(envelope.type, Usecase.TransferFile.type)
        return right(Usecase.encodeHeader(right(Usecase.decodeHeader(envelope.payload))))
      case "event":
        expect(Envelope.id(envelope)).toEqual(Option.some(Envelope.PUSH_ID))
        return PanelEvent.encode(right(PanelEvent.decode(envelope.payload)))
    }
  }

  it("covers a request and a response (or a header) of every usecase, and a panel event", () => {
    const types = (kind: Spec.ExampleKind) =>
      new Set(Spec.examples.filter(([k]) => k === kind).map(([, , text]) => right(Envelope.decode(text)).type))
    assert.strictEqual(types("request").size, 19)
    assert.deepStrictEqual(
      [...new Set([...types("response"), ...types("header"), 10])].sort((a, b) => a - b),
      Usecase.all.map((usecase) => usecase.type)
    )
    assert.strictEqual(types("event").size, 1)
  })

  Spec.examples.forEach(([kind, where, text], index) => {
    const label = `type ${/"type":(\d+)/.exec(text)?.[1]}, id ${/"id":(\d+)/.exec(text)?.[1]}`
    it(`example ${index + 1}, ${where} ${kind} (${label}): decode then encode gives the same text`, () => {
      assert.strictEqual(reencode(kind, text), text)
    })
  })

  it("decodes the examples' values: ids, statuses, levels, null, escapes, MAX", () => {
    const ofText = (text: string) => right(Envelope.decode(text)).payload
    const response4 = right(
      Usecase.decodeResponse(Usecase.AuthByCredentials, ofText(Spec.example("response", "§3.2 #4")))
    )
    assert.strictEqual(response4.id, 4n)
    assert.deepStrictEqual(response4.levels, ["pro"])
    assert.isNull(response4.comment)
    assert.strictEqual(response4.time_left, 1767225600)
    assert.strictEqual(response4.license_required, true)
    assert.strictEqual(response4.status, Status.make("ok"))
    const response13 = right(Usecase.decodeResponse(Usecase.GetVariable, ofText(Spec.example("response", "§3.2 #13"))))
    assert.strictEqual(response13.content, '{"featureFlag":true}')
    const request1 = right(Usecase.decodeRequest(Usecase.Initialize, ofText(Spec.example("request", "§3.2 #1"))))
    assert.isTrue(Redacted.isRedacted(request1.socket_api_key))
    assert.strictEqual(Redacted.value(request1.socket_api_key), "BA0123456789ABCDEFGHI")
    const event = right(PanelEvent.decode(ofText(Spec.example("event", "§5"))))
    assert.strictEqual(event.eventType, 2)
    assert.deepStrictEqual(event.content, { version: "1.2.3" })
  })

  it("re-encodes a non-canonical text in canonical form", () => {
    const cases: ReadonlyArray<readonly [Usecase.Any, string, string]> = [
      [
        Usecase.GetVariable,
        ' { "payload" : {"status":1.0e0,"content":"x","id":"0013","junk":[1.5]}, "type":13 } ',
        // A Decimal status is the wrong type (§1.3): this one must fail.
        ""
      ],
      [
        Usecase.GetVariable,
        ' { "payload" : {"status":1,"content":"x","id":"0013","junk":[1.5]}, "type":13 } ',
        '{"type":13,"payload":{"id":13,"content":"x","status":1}}'
      ],
      [
        Usecase.GetFileMetadata,
        '{"type":11,"payload":{"last_transferred_at":-0,"size":"20","id":18446744073709551614,"status":1}}',
        '{"type":11,"payload":{"id":18446744073709551614,"size":20,"last_transferred_at":0,"status":1}}'
      ],
      [
        Usecase.AuthByLicense,
        '{"type":3,"payload":{"id":3,"levels":{"b":"x","2":"two","1":"one","n":5},"time_left":"-1","status":210}}',
        '{"type":3,"payload":{"id":3,"levels":["one","two","x"],"time_left":-1,"status":210}}'
      ]
    ]
    for (const [usecase, text, expected] of cases) {
      const decoded = Usecase.decodeResponse(usecase, right(Envelope.decode(text)).payload)
      if (expected === "") {
        assert.strictEqual(Usecase.describeError(left(decoded)), '["status"]: has the wrong type or is out of range')
      } else {
        assert.strictEqual(right(Usecase.encodeResponse(usecase, right(decoded))), expected)
      }
    }
  })
})

describe("Round trips through the wire form", () => {
  it("compare Redacted values by their content (so the round trips can fail)", () => {
    // The Effect equality testers alone do not (they fall back to comparing the empty own fields), hence `reveal`.
    expect(reveal({ license: Redacted.make("a") })).toEqual(reveal({ license: Redacted.make("a") }))
    expect(reveal({ license: Redacted.make("a") })).not.toEqual(reveal({ license: Redacted.make("b") }))
    expect(reveal([{ license: Redacted.make("a") }])).not.toEqual(reveal([{ license: Redacted.make("b") }]))
    expect({ status: Status.fromCode(999) }).toEqual({ status: Status.fromCode(999) })
    expect({ status: Status.fromCode(999) }).not.toEqual({ status: Status.fromCode(998) })
  })

  for (const { register } of cases) register()

  it.prop(
    "stream headers round-trip as type-8 envelopes",
    [Arbitrary.make(Usecase.TransferHeader)],
    ([header]) =>
      assertRoundTrip(
        Usecase.TransferFile.type,
        Spec.headerFields,
        header,
        Usecase.encodeHeader,
        Usecase.decodeHeader,
        Usecase.TransferHeader.ast
      ),
    { fastCheck: fuzzParameters(100) }
  )

  it.prop(
    "panel events round-trip as type-18 pushes with id MAX",
    [Arbitrary.make(PanelEvent.PanelEvent)],
    ([event]) => {
      const text = PanelEvent.encode(event)
      const envelope = envelopeOf(text)
      assert.strictEqual(envelope.type, 18)
      assert.deepStrictEqual(Object.keys(envelope.payload), Spec.panelEventFields)
      assert.strictEqual(envelope.payload["id"], Uint64.MAX)
      assert.isTrue(text.startsWith('{"type":18,"payload":{"id":18446744073709551615,"event_type":'))
      const decoded = right(PanelEvent.decode(envelope.payload))
      expect(decoded).toEqual(event)
      assert.strictEqual(decoded.isKnown, event.eventType >= 0 && event.eventType <= 14)
      assert.strictEqual(PanelEvent.encode(decoded), text)
    },
    { fastCheck: fuzzParameters(100) }
  )

  it.prop(
    "ids round-trip in every usecase, big ones included",
    // Every response but the stream headers (8, 10) may hold only an id.
    [
      fc.constantFrom(...Usecase.all.filter((usecase) => usecase.type !== 8 && usecase.type !== 10)),
      Arbitrary.make(Uint64.Uint64FromSelf)
    ],
    ([usecase, id]) => {
      const response = right(Usecase.encodeResponse(usecase, right(Usecase.decodeResponse(usecase, { id }))))
      assert.strictEqual(response, `{"type":${usecase.type},"payload":{"id":${id}}}`)
      assert.strictEqual(right(Envelope.decode(response)).payload["id"], id <= 2n ** 53n - 1n ? Number(id) : id)
    },
    { fastCheck: fuzzParameters() }
  )
})

const payloadOf = (text: string): Payload => right(Envelope.decode(text)).payload

const reference = (ast: AST.AST) => Schema.decodeUnknownEither(Schema.make<unknown>(ast), { errors: "first" })

/** A decoder gives exactly what its Schema gives: the same value (same keys, same order), or the same error. */
const assertSameAsSchema = (
  decoded: Either.Either<unknown, ParseResult.ParseError>,
  expected: Either.Either<unknown, ParseResult.ParseError>,
  where: string
) => {
  if (Either.isLeft(expected)) {
    assert.strictEqual(Usecase.describeError(left(decoded)), Usecase.describeError(expected.left), where)
    assert.strictEqual(left(decoded).message, expected.left.message, where)
  } else {
    const value = right(decoded)
    expect(reveal(value)).toEqual(reveal(expected.right))
    assert.deepStrictEqual(Object.keys(value as object), Object.keys(expected.right as object), where)
  }
}

/** Every decoder, with its fields in table order and a valid payload (from the spec's examples). */
const decoders: ReadonlyArray<{
  readonly name: string
  readonly decode: (payload: unknown) => Either.Either<unknown, ParseResult.ParseError>
  /** The payload Schema run as is (Usecase's decoders first try their fast path). */
  readonly reference: (payload: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly fields: ReadonlyArray<string>
  readonly valid: Payload
}> = [
  ...Usecase.all.flatMap((usecase) => {
    const spec = Spec.usecases[usecase.type]!
    const response =
      Spec.exampleOfType("response", usecase.type) ??
      Spec.exampleOfType("header", usecase.type === 10 ? 8 : usecase.type)!
    return [
      {
        name: `${usecase.name} request`,
        decode: (payload: unknown) => Usecase.decodeRequest(usecase, payload),
        reference: reference(usecase.request.ast),
        fields: spec.request,
        valid: payloadOf(Spec.exampleOfType("request", usecase.type)!)
      },
      {
        name: `${usecase.name} response`,
        decode: (payload: unknown) => Usecase.decodeResponse(usecase, payload),
        reference: reference(usecase.response.ast),
        fields: spec.response,
        valid: payloadOf(response)
      }
    ]
  }),
  {
    name: "header",
    decode: Usecase.decodeHeader,
    reference: reference(Usecase.TransferHeader.ast),
    fields: Spec.headerFields,
    valid: payloadOf(Spec.example("header", "§4.10"))
  },
  {
    name: "panel event",
    decode: PanelEvent.decode,
    reference: PanelEvent.decode,
    fields: Spec.panelEventFields,
    valid: payloadOf(Spec.example("event", "§5"))
  }
]

const fieldNames = [
  ...new Set([...Spec.usecases.flatMap((spec) => [...spec.request, ...spec.response]), ...Spec.panelEventFields])
]

/** Values a field may hold: plausible ones (integers near the limits, digit strings, null) and any JSON value. */
const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    0,
    1,
    -1,
    -0,
    7,
    2 ** 31 - 1,
    2 ** 31,
    -(2 ** 31),
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    2n ** 53n,
    Uint64.MAX,
    Uint64.MAX + 1n,
    "8",
    "007",
    "-5",
    "",
    "x",
    true,
    false,
    null,
    [],
    ["pro", 1, null],
    {},
    { tier: "pro" }
  ),
  fc.integer(),
  fc.string(),
  jsonText.map((text) => right(Json.parse(text)))
)

/** Objects shaped like payloads: known field names (and a few others) with random values. */
const payloadShaped: fc.Arbitrary<Payload> = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...fieldNames), fc.string({ maxLength: 3 })), fieldValue), {
    maxLength: 10
  })
  .map((entries) => {
    const out: Record<string, unknown> = {}
    for (const [key, value] of entries) Object.defineProperty(out, key, { value, enumerable: true, writable: true })
    return out
  })

describe("Decoders are total", () => {
  it.prop(
    "valid payloads with one field changed, dropped or added decode exactly as their Schema decodes them",
    [
      fc
        .constantFrom(...decoders)
        .chain((decoder) =>
          fc.tuple(
            fc.constant(decoder),
            fc.oneof(
              { arbitrary: fc.constantFrom(...decoder.fields), weight: 4 },
              fc.constantFrom(...fieldNames, "subscribed")
            )
          )
        ),
      fc.option(fieldValue, { nil: undefined, freq: 5 })
    ],
    ([[{ decode, name, reference, valid }, field], value]) => {
      const payload: Payload =
        value === undefined
          ? Object.fromEntries(Object.entries(valid).filter(([key]) => key !== field))
          : { ...valid, [field]: value }
      assertSameAsSchema(decode(payload), reference(payload), `${name} ${field} = ${show(value)}`)
    },
    { fastCheck: fuzzParameters(500) }
  )

  it.prop(
    "any payload: a Right that re-encodes to itself, or a Left ParseError that describeError can name",
    [
      fc.oneof(
        payloadShaped,
        fc.jsonValue(),
        jsonText.map((text) => right(Json.parse(text)))
      )
    ],
    ([payload]) => {
      for (const { decode, name, reference } of decoders) {
        const decoded = decode(payload)
        assertSameAsSchema(decoded, reference(payload), name)
        if (Either.isLeft(decoded)) {
          assert.instanceOf(decoded.left, ParseResult.ParseError, name)
          assert.match(
            Usecase.describeError(decoded.left),
            /^(payload|(\["[^"]*"\])+): (is missing|has the wrong type)/
          )
        }
      }
      for (const usecase of Usecase.all) {
        const request = Usecase.decodeRequest(usecase, payload)
        if (Either.isRight(request)) {
          const text = right(Usecase.encodeRequest(usecase, request.right))
          expect(reveal(right(Usecase.decodeRequest(usecase, right(Envelope.decode(text)).payload)))).toEqual(
            reveal(request.right)
          )
        }
        const response = Usecase.decodeResponse(usecase, payload)
        if (Either.isRight(response)) {
          const text = right(Usecase.encodeResponse(usecase, response.right))
          expect(reveal(right(Usecase.decodeResponse(usecase, right(Envelope.decode(text)).payload)))).toEqual(
            reveal(response.right)
          )
        }
      }
      const event = PanelEvent.decode(payload)
      if (Either.isRight(event))
        expect(right(PanelEvent.decode(right(Envelope.decode(PanelEvent.encode(event.right))).payload))).toEqual(
          event.right
        )
    },
    { fastCheck: fuzzParameters() }
  )

  it.prop(
    "any text through Envelope.decode then every decoder never throws",
    [
      fc.oneof(
        fc.string(),
        jsonText,
        payloadShaped.map((payload) => Json.stringify({ type: 3, payload }))
      )
    ],
    ([text]) => {
      const envelope = Envelope.decode(text)
      if (Either.isLeft(envelope)) {
        assert.instanceOf(envelope.left, Envelope.EnvelopeError)
        return
      }
      for (const { decode, name } of decoders) {
        const decoded = decode(envelope.right.payload)
        if (Either.isLeft(decoded)) assert.instanceOf(decoded.left, ParseResult.ParseError, name)
      }
    },
    { fastCheck: fuzzParameters() }
  )
})

describe("describeError", () => {
  const secretText = fc.stringMatching(/^[A-Za-z0-9]{12,24}$/).map((s) => `S3cr3t-${s}`)

  /** Values of the wrong JSON type for a field of this kind, each holding the secret somewhere. */
  const wrongValues = (kind: Spec.Kind, secret: string): ReadonlyArray<unknown> => {
    const nested = [{ value: secret }, { [secret]: 1 }, [[secret]]]
    switch (kind) {
      case "string":
        return [[secret], ...nested]
      case "levels":
        return [secret]
      case "string_map":
        return []
      default:
        return [secret, [secret], ...nested]
    }
  }

  it("names the field and leaves out the value, which the ParseError message itself shows", () => {
    const secret = "S3cr3t-hunter2hunter2"
    const error = left(
      Usecase.decodeRequest(Usecase.Initialize, { id: 1, socket_api_key: [secret], client_id: "abcd" })
    )
    assert.include(error.message, secret)
    assert.strictEqual(Usecase.describeError(error), '["socket_api_key"]: has the wrong type or is out of range')
    assert.strictEqual(
      Usecase.describeError(left(Usecase.decodeRequest(Usecase.Initialize, secret))),
      "payload: has the wrong type or is out of range"
    )
    assert.strictEqual(
      Usecase.describeError(left(Usecase.decodeRequest(Usecase.Initialize, { id: 1 }))),
      '["socket_api_key"]: is missing'
    )
  })

  it.prop(
    "a secret in a wrong-typed position never appears in the description",
    [
      fc.constantFrom(...decoders.flatMap((decoder) => decoder.fields.map((field) => ({ ...decoder, field })))),
      secretText,
      fc.nat()
    ],
    ([{ name, decode, field, valid }, secret, pick]) => {
      const kind = name === "panel event" && field === "content" ? "string_map" : Spec.kinds[field]!
      const wrong = wrongValues(kind, secret)
      if (wrong.length === 0) return
      const value = wrong[pick % wrong.length]
      right(decode(valid))
      const description = Usecase.describeError(left(decode({ ...valid, [field]: value })))
      assert.strictEqual(description, `["${field}"]: has the wrong type or is out of range`, `${name} ${field}`)
      assert.notInclude(description, secret.slice(7))
    },
    { fastCheck: fuzzParameters() }
  )
})

describe("Usecase encoders", () => {
  /** The payload Schema's own encoding (Usecase's encoders first try their fast path). */
  const referenceText = (ast: AST.AST, type: number, value: unknown) =>
    Either.map(Schema.encodeEither(Schema.make<unknown, object>(ast))(value), (wire) => Envelope.encode(type, wire))

  /** A numeric or bigint field set to any number or bigint: in range or not, integer or not. */
  const numberLike = fc.oneof(fc.double(), fc.integer(), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }))

  const sameAsSchema = (
    encoded: Either.Either<string, ParseResult.ParseError>,
    expected: Either.Either<string, ParseResult.ParseError>,
    where: string
  ) => {
    assert.strictEqual(encoded._tag, expected._tag, where)
    if (Either.isRight(encoded) && Either.isRight(expected)) assert.strictEqual(encoded.right, expected.right, where)
  }

  const property = (usecase: Usecase.Any) =>
    it.prop(
      `${usecase.name}: requests and responses encode exactly as their Schema encodes them, valid or not`,
      [
        Arbitrary.make(Schema.make<object>(AST.typeAST(usecase.request.ast))),
        Arbitrary.make(Schema.make<object>(AST.typeAST(usecase.response.ast))),
        fc.option(fc.tuple(fc.constantFrom("id", "offset", "ttl", "chunk_size", "time_left", "size"), numberLike), {
          nil: undefined
        })
      ],
      ([request, response, change]) => {
        const changedRequest: object = change === undefined ? request : { ...request, [change[0]]: change[1] }
        const changedResponse: object = change === undefined ? response : { ...response, [change[0]]: change[1] }
        sameAsSchema(
          Usecase.encodeUnknown("request", usecase, changedRequest),
          referenceText(usecase.request.ast, usecase.type, changedRequest),
          `${usecase.name} request ${show(change)}`
        )
        sameAsSchema(
          Usecase.encodeUnknown("response", usecase, changedResponse),
          referenceText(usecase.response.ast, usecase.type, changedResponse),
          `${usecase.name} response ${show(change)}`
        )
      },
      { fastCheck: fuzzParameters(50) }
    )

  for (const usecase of Usecase.all) property(usecase)
})

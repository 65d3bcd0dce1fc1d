/**
 * The fixtures example of the README ("Reference server"): the contract of the `--fixtures` file. Its `big.bin` is a
 * path relative to the fixtures file.
 */
import type * as Fixtures from "@protokernel/blazeauth/Fixtures"

/** The README example, with `big.bin` next to the fixtures file. */
export const designExample: Fixtures.Input = {
  applications: [
    {
      api_key: "BA0123456789ABCDEFGHI",
      name: "Demo",
      version: "1.0.0",
      licenses: [
        {
          key: "ABCDEF-123456",
          levels: ["pro"],
          comment: null,
          duration_seconds: 86400,
          paused: false,
          blacklisted: false
        }
      ],
      accounts: [
        {
          login: "demo_user",
          password: "strong-password",
          credentials_type: 0,
          levels: ["basic"],
          license_required: false
        }
      ],
      variables: [{ name: "launcher_config", content: "{}", auth_required: false }],
      files: [
        { name: "client.bin", content_base64: "AAEC" },
        { name: "big.bin", path: "big.bin" }
      ]
    }
  ]
}

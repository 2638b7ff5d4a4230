# API and CLI error messages (English). Message ids are Fluent ids; the stable API
# error code is chosen by the code, see docs/en/api.md.
unknown-host = No store is served at { $host }.
not-found = The { $entity } “{ $key }” was not found.
reference-not-found = { $field } refers to a { $entity } that does not exist: { $key }.
taken = The { $field } “{ $value }” is already taken in this store.
validation-failed = { $count ->
    [one] { $count } field is invalid.
   *[other] { $count } fields are invalid.
}
in-use = This { $entity } is still in use and cannot be deleted.
unauthorized = Authentication required: send a valid bearer token.
token-expired = The access token has expired; request a new one.
forbidden = You are not allowed to do this in this store.
invalid-token = The token is not valid here: sign in again.
invalid-credentials = Wrong login or password.
invalid-refresh = This session is not valid: sign in again.
refresh-reused = This session was used from elsewhere and has been closed for safety: sign in again.
refresh-expired = The session has expired: sign in again.
code-invalid = Wrong code. Check it and try again.
code-expired = The code has expired. Request a new one.
code-locked = Too many wrong attempts. Request a new code.
link-invalid = The link is invalid or has expired. Request a new one.
not-verified = Confirm your email or phone first: we sent you a link or a code.
account-disabled = This account is disabled.
rate-limited = Too many attempts. Try again in { $seconds } s.
invalid-config = { $count ->
    [one] { $count } configuration value is invalid.
   *[other] { $count } configuration values are invalid.
}
internal-error = Something went wrong on our side. The error has been logged.
invalid-json = The request body is not valid JSON for this endpoint.
invalid-query = The query string is invalid.
route-not-found = There is no such API endpoint.
method-not-allowed = This method is not allowed on this endpoint.
payload-too-large = The request body is too large.
unsupported-media-type = Send the request body as application/json.

# Integrations (plugins).
sync-busy = Another run of this integration is in progress. Try again when it has finished.
plugin-unsupported = This plugin does not support that.
integration-config = The integration's settings or credentials are not usable.
remote-error = The external system answered with an error.
http-error = The external system could not be reached.
remote-data = The data sent or received is not what the integration expects.
import-failed = The integration could not write to the catalogue.

# Entity names used in the messages above.
entity-tenant = store
entity-product = product
entity-category = category
entity-variant = variant
entity-region = region
entity-price-type = price type
entity-warehouse = warehouse
entity-delivery-method = delivery method
entity-content = content block
entity-import = import
entity-report = report
entity-integration = integration
entity-plugin = plugin
entity-run = run

Feature: Provider: refusals
  After a 401 or 403 a provider stops instead of retrying in a loop; after a 429 with
  `Retry-After` it sends nothing to that endpoint before the time given, whatever events say.

  Background:
    Given the server advertises an event stream in url form
    And the provider is running
    And the provider is connected to the event stream

  @should @id:client-auth-fatal @sse
  Scenario: After a 401 the provider does not retry in a loop
    When the server answers every request 401
    And the server drops every stream
    Then the provider sends at most 2 requests in the 3 seconds after the first refusal

  @should @id:client-retry-after @sse
  Scenario: After a 429 with Retry-After the provider waits before asking again
    When the server answers the next bulk request 429 with Retry-After 3
    And the server sends a refetchEvaluation event with etag "e2"
    Given within 5 seconds the provider requests the bulk endpoint
    When the server sends a refetchEvaluation event with etag "e3"
    Then the provider sends nothing to the bulk endpoint before the Retry-After time

Feature: Provider: reconnecting, backing off and falling back
  When its stream ends, a provider reconnects with `Last-Event-ID` and refetches at once, since
  it may have missed events; while the stream keeps failing it backs off (honouring `retry:`)
  and keeps working: polling if it polls, else retrying.

  Background:
    Given the server advertises an event stream in url form
    And the server sends retry 1000 on every stream
    And the provider is running
    And the provider is connected to the event stream

  @must @id:client-refetch-on-reconnect @sse
  Scenario: After its stream reconnects, the provider refetches at once
    When the server drops every stream
    Given within 10 seconds the provider reconnects to the event stream
    Then within 1 second of reconnecting the provider requests the bulk endpoint

  @should @id:client-last-event-id @sse
  Scenario: A reconnect sends Last-Event-ID with the last id received
    When the server sends a refetchEvaluation event with etag "e2"
    Given within 5 seconds the provider requests the bulk endpoint
    When the server drops every stream
    Given within 10 seconds the provider reconnects to the event stream
    Then the reconnect carries Last-Event-ID of the last event sent

  @should @id:client-backoff @sse
  Scenario: While the stream keeps failing, reconnect attempts back off and honour retry
    When the server refuses every stream with 503
    And the server drops every stream
    Then over 8 seconds the provider's stream attempts back off

  @must @id:client-fallback @sse
  Scenario: With the stream unavailable the provider keeps working
    When the server refuses every stream with 503
    And the server drops every stream
    Then over 10 seconds the provider keeps working without the stream

Feature: Provider: reacting to events
  On a `refetchEvaluation` event the provider refetches the bulk endpoint with the event's
  `etag` and `lastModified` as `flagConfigEtag` and `flagConfigLastModified`; it ignores event
  types it does not know, and coalesces a burst into a couple of refetches.

  Background:
    Given the server advertises an event stream in url form
    And the provider is running
    And the provider is connected to the event stream

  @must @id:client-refetch-on-event @sse
  Scenario: A refetchEvaluation event is followed by a bulk refetch
    When the server sends a refetchEvaluation event with etag "e2"
    Then within 5 seconds the provider requests the bulk endpoint

  @should @id:client-refetch-params @sse
  Scenario: The refetch carries the event's etag and lastModified as query parameters
    When the server sends a refetchEvaluation event with etag "e2" and lastModified 1767225600
    Then within 5 seconds the provider requests the bulk endpoint with flagConfigEtag "e2" and flagConfigLastModified 1767225600

  @must @id:client-ignore-unknown-event @sse
  Scenario: An event of unknown type triggers no refetch
    When the server sends a refetchEvaluation event with etag "e2"
    Given within 5 seconds the provider requests the bulk endpoint
    When the server sends an event of type "flagsArchived"
    Then the provider sends no bulk request for 2 seconds

  @should @id:client-coalesce @sse
  Scenario: A burst of 100 events leads to at most 3 refetches
    When the server sends 100 refetchEvaluation events at once
    Then at most 3 bulk requests follow within 3 seconds

  @should @id:client-params-only-on-event @sse
  Scenario: Requests no event triggered carry no flagConfig parameters
    When the server sends a refetchEvaluation event with etag "e2"
    Given within 5 seconds the provider requests the bulk endpoint
    When the server drops every stream
    Given within 10 seconds the provider reconnects to the event stream
    When 2 seconds pass
    Then requests that no event triggered carry no flagConfig parameters

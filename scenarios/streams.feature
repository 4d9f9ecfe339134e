Feature: eventStreams in the bulk answer
  ADR-0008: an optional array of change-notification endpoints. Absent means clients poll.

  Background:
    Given I request a bulk evaluation
    And the status is 200

  @info @id:streams-optional
  Scenario: the server advertises event streams (or clients poll)
    Then the answer advertises event streams

  @must @id:streams-shape
  Scenario: eventStreams is an array of objects with a string type
    Then the answer passes check streams-shape

  @must @id:streams-one-of
  Scenario: each entry has exactly one of url and endpoint
    Then the answer passes check streams-one-of

  @must @id:streams-url
  Scenario: a url is an absolute URI
    Then the answer passes check streams-url

  @must @id:streams-request-uri
  Scenario: an endpoint has a requestUri starting with / and a real origin
    Then the answer passes check streams-request-uri

  @must @id:streams-inactivity
  Scenario: inactivityDelaySec is an integer of at least 1
    Then the answer passes check streams-inactivity

  @info @id:streams-unknown-type
  Scenario: entries of unknown types are reported
    Then the answer passes check streams-unknown-type

  @should @id:streams-legacy-sse
  Scenario: no draft-era sse field instead of eventStreams
    Then the answer passes check streams-legacy-sse

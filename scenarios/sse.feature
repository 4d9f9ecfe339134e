@sse
Feature: The event stream
  GET on the advertised URL is a WHATWG event stream.

  @must @id:sse-content-type
  Scenario: the stream is served as text/event-stream
    When I connect to the advertised event stream
    Then the stream answers 200 with Content-Type text/event-stream

  @must @id:sse-retry
  Scenario: retry fields are digits only
    Given I connect to the advertised event stream
    When I wait 300 milliseconds
    Then the stream passes check sse-retry

  @must @id:sse-utf8
  Scenario: the stream is UTF-8
    Given I connect to the advertised event stream
    When I wait 300 milliseconds
    Then the stream passes check sse-utf8

  @should @slow @id:sse-keepalive
  Scenario: an idle stream gets a comment or an event at least every 30 seconds
    Given I connect to the advertised event stream
    Then a comment or event arrives within 35 seconds
    And a comment or event arrives within 35 seconds

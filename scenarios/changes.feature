@change
Feature: Changes reach clients
  After a flag changes, the ETag changes, the stream says so, a refetch sees the new state, and
  clients that only poll see it too. Needs a trigger (--trigger-url, --trigger-cmd, or
  --embedded). Each scenario sets up only what it needs: the event scenarios need no ETag, so a
  server whose ETags are broken still has its events checked.

  @must @id:bulk-etag-changes
  Scenario: after a change the ETag changes and the old one gets a 200
    Given I request a bulk evaluation
    And the response has an ETag
    And I remember the ETag as etag
    And I request a bulk evaluation with If-None-Match "\"ofrep-conform-made-up\""
    And the status is 200
    When a flag changes
    Then within 5 seconds a bulk evaluation with If-None-Match "{etag}" returns a new ETag

  @must @polling @id:polling-works
  Scenario: a polling client sees 304 while unchanged and 200 with a new ETag after a change
    Given I request a bulk evaluation
    And the response has an ETag
    And I remember the ETag as etag
    And I request a bulk evaluation with If-None-Match "\"ofrep-conform-made-up\""
    And the status is 200
    And I request a bulk evaluation with If-None-Match "{etag}"
    And the status is 304
    When a flag changes
    Then within 5 seconds a bulk evaluation with If-None-Match "{etag}" returns a new ETag
    And I remember the ETag as new
    When I request a bulk evaluation with If-None-Match "{new}"
    Then the status is 304

  @must @polling @id:polling-without-streams
  Scenario: a client that never opens the stream still sees the change by polling
    Given I request a bulk evaluation
    And the response has an ETag
    And I remember the ETag as etag
    And I request a bulk evaluation with If-None-Match "\"ofrep-conform-made-up\""
    And the status is 200
    When a flag changes
    Then within 5 seconds a bulk evaluation with If-None-Match "{etag}" returns a new ETag
    And the answer passes check bulk-shape

  @must @sse @id:sse-notify
  Scenario: a change is followed by an event
    Given I connect to the advertised event stream
    When a flag changes
    Then an event arrives within 5 seconds

  @must @sse @id:sse-fresh-after-event
  Scenario: a refetch triggered by the event returns the new state
    Given I request a bulk evaluation
    And the response has an ETag
    And I remember the ETag as etag
    And I request a bulk evaluation with If-None-Match "\"ofrep-conform-made-up\""
    And the status is 200
    And I connect to the advertised event stream
    And a flag changes
    And an event arrives within 5 seconds
    Then within 3 seconds a refetch with the event's metadata and If-None-Match "{etag}" returns a new ETag

  @must @sse @id:sse-event-message
  Scenario: events are message events
    Given I connect to the advertised event stream
    And a flag changes
    And an event arrives within 5 seconds
    Then the event passes check sse-event-message

  @must @sse @id:sse-data-json
  Scenario: event data is a JSON object
    Given I connect to the advertised event stream
    And a flag changes
    And an event arrives within 5 seconds
    Then the event passes check sse-data-json

  @must @sse @id:sse-type
  Scenario: event data has a string type
    Given I connect to the advertised event stream
    And a flag changes
    And an event arrives within 5 seconds
    Then the event passes check sse-type

  @must @sse @id:sse-etag-type
  Scenario: an event's etag is a string
    Given I connect to the advertised event stream
    And a flag changes
    And an event arrives within 5 seconds
    Then the event passes check sse-etag-type

  @must @sse @id:sse-last-modified
  Scenario: an event's lastModified is Unix seconds or an ISO 8601 date-time
    Given I connect to the advertised event stream
    And a flag changes
    And an event arrives within 5 seconds
    Then the event passes check sse-last-modified

  @should @sse @id:sse-last-modified-seconds
  Scenario: an event's lastModified is in Unix seconds
    Given I connect to the advertised event stream
    And a flag changes
    And an event arrives within 5 seconds
    Then the event passes check sse-last-modified-seconds

  @should @sse @id:sse-id
  Scenario: events carry an id
    Given I connect to the advertised event stream
    And a flag changes
    And an event arrives within 5 seconds
    Then the event passes check sse-id

  @info @sse @id:sse-replay
  Scenario: missed events are replayed after Last-Event-ID
    Given I connect to the advertised event stream
    And a flag changes
    And an event arrives within 5 seconds
    And I remember the event id as before
    And I disconnect from the event stream
    And a flag changes
    And I wait 300 milliseconds
    When I connect to the advertised event stream with Last-Event-ID "{before}"
    Then an event arrives within 2 seconds

Feature: Bulk evaluation
  POST /ofrep/v1/evaluate/flags, as client-side providers use it, and the event-stream metadata
  that ADR-0008 adds to it as query parameters.

  @must @id:bulk-shape
  Scenario: the answer is an object with a flags array
    When I request a bulk evaluation
    Then the status is 200
    And the answer passes check bulk-shape

  @must @id:bulk-400-shape
  Scenario: an invalid context is a 400 with an error code
    When I request a bulk evaluation with the raw body "{\"context\": 42}"
    Then the status is 400
    And the answer passes check bulk-400-shape

  @should @id:bulk-etag-present
  Scenario: a bulk answer carries an ETag
    When I request a bulk evaluation
    Then the response has an ETag

  @must @id:bulk-query-accepted
  Scenario: flagConfigEtag and flagConfigLastModified in Unix seconds are accepted
    When I request a bulk evaluation with query "flagConfigEtag=%22ofrep-conform%22&flagConfigLastModified=1771622898"
    Then the status is 200

  @must @id:bulk-query-accepted
  Scenario: flagConfigLastModified as an ISO 8601 date is accepted
    When I request a bulk evaluation with query "flagConfigEtag=ofrep-conform&flagConfigLastModified=2026-02-20T21%3A28%3A18Z"
    Then the status is 200

  @should @id:bulk-query-not-validator
  Scenario: the query parameters alone never produce a 304
    When I request a bulk evaluation with query "flagConfigEtag=ofrep-conform&flagConfigLastModified=1771622898"
    Then the status is not 304

  @should @id:bulk-query-not-validator
  Scenario: a differing flagConfigEtag forces a 200 even when If-None-Match matches
    Given I request a bulk evaluation
    And the response has an ETag
    And I remember the ETag as etag
    And I request a bulk evaluation with If-None-Match "{etag}"
    And the status is 304
    And I request a bulk evaluation with If-None-Match "\"ofrep-conform-made-up\""
    And the status is 200
    When I request a bulk evaluation with If-None-Match "{etag}" and query "flagConfigEtag=ofrep-conform-differs"
    Then the status is 200

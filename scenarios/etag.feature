Feature: ETag and 304
  Polling providers revalidate with If-None-Match; a server that honours it saves every client a
  full download.

  Background:
    Given I request a bulk evaluation
    And the response has an ETag
    And I remember the ETag as etag

  @should @id:bulk-etag-syntax
  Scenario: the ETag is an RFC 9110 entity-tag
    Then the ETag is a valid entity-tag

  @must @id:bulk-304-on-match
  Scenario: a matching If-None-Match gets a 304
    When I request a bulk evaluation with If-None-Match "{etag}"
    Then the status is 304

  @must @id:bulk-304-no-body
  Scenario: a 304 has no body
    Given I request a bulk evaluation with If-None-Match "{etag}"
    And the status is 304
    Then the response has no body

  @should @id:bulk-304-etag
  Scenario: a 304 repeats the ETag
    Given I request a bulk evaluation with If-None-Match "{etag}"
    And the status is 304
    Then the response has an ETag

  @must @id:bulk-200-on-stale
  Scenario: a made-up ETag gets a 200 with the current ETag
    When I request a bulk evaluation with If-None-Match "\"ofrep-conform-made-up\""
    Then the status is 200
    And the ETag is "{etag}"

  @must @id:bulk-etag-stable
  Scenario: the same flags and context give the same ETag
    When I request a bulk evaluation
    Then the ETag is "{etag}"
    When I request a bulk evaluation
    Then the ETag is "{etag}"

  @should @id:bulk-etag-context
  Scenario: another context's ETag does not get a 304 when the answers differ
    Given I request a bulk evaluation with If-None-Match "\"ofrep-conform-made-up\""
    And the status is 200
    And the context is "{\"targetingKey\": \"ofrep-conform-a\"}"
    And I request a bulk evaluation
    And I remember the ETag as first
    And I remember the flags as flags_a
    And the context is "{\"targetingKey\": \"ofrep-conform-b\", \"email\": \"b@example.com\", \"plan\": \"premium\", \"country\": \"CA\"}"
    And I request a bulk evaluation
    When I request a bulk evaluation with If-None-Match "{first}"
    Then the status is 200 unless the flags equal flags_a

  @info @id:bulk-inm-forms
  Scenario: a weak form of the ETag gets a 304
    Given I request a bulk evaluation with If-None-Match "{etag}"
    And the status is 304
    When I request a bulk evaluation with If-None-Match "W/{etag}"
    Then the status is 304

  @info @id:bulk-inm-forms
  Scenario: a list holding the ETag gets a 304
    Given I request a bulk evaluation with If-None-Match "{etag}"
    And the status is 304
    When I request a bulk evaluation with If-None-Match "\"ofrep-conform-other\", {etag}"
    Then the status is 304

  @info @id:bulk-inm-forms
  Scenario: If-None-Match * gets a 304
    Given I request a bulk evaluation with If-None-Match "{etag}"
    And the status is 304
    When I request a bulk evaluation with If-None-Match "*"
    Then the status is 304

Feature: Single-flag evaluation
  POST /ofrep/v1/evaluate/flags/{key}, as server-side providers use it.

  Background:
    Given I request a bulk evaluation
    And I remember the first flag key as flag

  @must @id:single-shape
  Scenario: a successful evaluation has a key and a reason
    Given I request the flag "{flag}"
    And the status is 200
    Then the answer passes check single-shape

  @must @id:single-value-type
  Scenario: a single-flag value is a boolean, string, number or object
    Given I request the flag "{flag}"
    And the status is 200
    Then the answer passes check single-value-type

  @must @id:single-value-type
  Scenario: bulk values are booleans, strings, numbers or objects
    Then the answer passes check single-value-type

  @must @id:single-not-found
  Scenario: an unknown flag is 404 FLAG_NOT_FOUND
    When I request the flag "ofrep-conform-no-such-flag"
    Then the status is 404
    And the answer passes check single-not-found

  @must @id:single-400-shape
  Scenario: a malformed request is a 400 with an OFREP error code
    When I request the flag "{flag}" with the raw body "this is not JSON"
    Then the status is 400
    And the answer passes check single-400-shape

  @should @id:reason-known
  Scenario: reasons are OpenFeature reasons
    Then the answer passes check reason-known

  @must @id:metadata-values
  Scenario: metadata holds only booleans, strings and numbers
    Then the answer passes check metadata-values
    When I request the flag "{flag}"
    Then the answer passes check metadata-values

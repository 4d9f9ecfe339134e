Feature: Transport and errors
  Both OFREP endpoints exist and answer with JSON; credentials are enforced when required.

  @must @id:core-endpoints
  Scenario: the bulk endpoint answers
    When I request a bulk evaluation
    Then the answer passes check core-endpoints
    And the status is 200

  @must @id:core-endpoints
  Scenario: the single-flag endpoint answers
    Given I request a bulk evaluation
    And I remember the first flag key as flag
    When I request the flag "{flag}"
    Then the answer passes check core-endpoints
    And the status is not 404

  @must @id:core-json
  Scenario: a bulk answer is JSON
    When I request a bulk evaluation
    Then the answer passes check core-json

  @must @id:core-json
  Scenario: a not-found answer is JSON
    When I request the flag "ofrep-conform-no-such-flag"
    Then the answer passes check core-json

  @must @id:core-json
  Scenario: a bad-request answer is JSON
    When I request a bulk evaluation with the raw body "{\"context\": 42}"
    Then the answer passes check core-json

  @should @auth @id:auth-401-403
  Scenario: requests without credentials are refused
    Given requests carry no credentials
    When I request a bulk evaluation
    Then the status is one of "401, 403"

@cors
Feature: Browsers (CORS)
  Web providers run in browsers: they need a preflight that allows their headers, and an ETag
  they are allowed to read.

  @should @id:cors-preflight
  Scenario: a preflight allows Content-Type and If-None-Match
    When I send a CORS preflight from origin "https://app.example.com" for headers "content-type, if-none-match"
    Then the status is one of "200, 204"
    And the response header "Access-Control-Allow-Origin" includes "https://app.example.com"
    And the response header "Access-Control-Allow-Headers" includes "content-type"
    And the response header "Access-Control-Allow-Headers" includes "if-none-match"

  @should @id:cors-expose-etag
  Scenario: the ETag is exposed to browser code
    When I request a bulk evaluation from origin "https://app.example.com"
    Then the response header "Access-Control-Expose-Headers" includes "ETag"

Feature: Provider: bulk evaluation and revalidation
  A static-context provider evaluates every flag at once with the bulk endpoint, and later
  asks again with the ETag it last received, so that an unchanged configuration costs a 304.

  @must @id:client-bulk @bulk
  Scenario: The provider evaluates with POST /ofrep/v1/evaluate/flags and a JSON context
    When the provider starts
    Then the provider's first bulk request carries a JSON context

  @must @id:client-inm @bulk @sse
  Scenario: Later bulk requests carry If-None-Match with the last ETag received
    Given the server advertises an event stream in url form
    And the provider is running
    And the provider is connected to the event stream
    When the server sends a refetchEvaluation event with etag "e2"
    Then within 5 seconds the provider requests the bulk endpoint
    When the server sends a refetchEvaluation event with etag "e3"
    Then within 5 seconds the provider requests the bulk endpoint
    And every bulk request after the first carries If-None-Match with the ETag last received

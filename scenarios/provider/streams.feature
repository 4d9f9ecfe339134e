Feature: Provider: opening the advertised event streams
  After the bulk answer, a provider opens each `eventStreams` entry of type `sse`: a `url` as
  given, an `endpoint` on the base URL's origin; it skips entries of a type it does not know.

  @should @id:client-connect @sse
  Scenario: The provider opens the advertised event stream
    Given the server advertises an event stream in url form
    And the provider is running
    Then within 5 seconds the provider connects to the event stream

  @should @id:client-url-as-is @sse
  Scenario: A url is used as given, query string included
    Given the server advertises an event stream in url form
    And the provider is running
    Then within 5 seconds the provider connects to the url as advertised, query string included

  @should @id:client-endpoint-url @sse
  Scenario: An endpoint becomes the base URL's origin plus its requestUri
    Given the server advertises an event stream in endpoint form
    And the provider is running
    Then within 5 seconds the provider connects to the endpoint on the base URL's origin

  @must @id:client-ignore-unknown-stream @sse
  Scenario: An entry of unknown type is not opened, and the sse entry still is
    Given the server advertises a stream of unknown type "websocket"
    And the server advertises an event stream in url form
    And the provider is running
    Then within 5 seconds the provider connects to the event stream
    And the provider opened no connection to the unknown stream

  @info @id:client-sse-accept @sse
  Scenario: The stream request asks for text/event-stream
    Given the server advertises an event stream in url form
    And the provider is running
    And the provider is connected to the event stream
    Then the stream requests carry Accept: text/event-stream

package manager

// EventRecorders is eventRecorders, for the tests against a real API server.
var EventRecorders = eventRecorders

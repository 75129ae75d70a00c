package gcp

// EndpointFor exposes endpoint for tests.
var EndpointFor = endpoint

package gcp

// EndpointFor exposes endpoint for tests.
var EndpointFor = endpoint

// LabelOK exposes labelOK for tests.
var LabelOK = labelOK

package providers

import (
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// A property is merged into the remote JSON (other properties kept, nested paths as ESO's
// sjson paths); a remote value that is no JSON object is refused without quoting it; deleting
// the last property says none is left.
func TestSetAndDeleteProperty(t *testing.T) {
	out, err := SetProperty([]byte(`{"a":"1"}`), "b.c", []byte("v"))
	if err != nil || string(out) != `{"a":"1","b":{"c":"v"}}` {
		t.Errorf("SetProperty = %s, %v", out, err)
	}
	if out, err := SetProperty(nil, "p", []byte("v")); err != nil || string(out) != `{"p":"v"}` {
		t.Errorf("SetProperty on nothing = %s, %v", out, err)
	}
	if _, err := SetProperty([]byte("plain-secret-text"), "p", []byte("v")); err == nil ||
		strings.Contains(err.Error(), "plain-secret-text") {
		t.Errorf("a non-object remote: %v", err)
	}
	if !HasProperty([]byte(`{"a":"1"}`), "a") || HasProperty([]byte(`{"a":"1"}`), "b") || HasProperty([]byte("x"), "a") {
		t.Error("HasProperty")
	}
	rest, left, err := DeleteProperty([]byte(`{"a":"1","b":"2"}`), "a")
	if err != nil || !left || string(rest) != `{"b":"2"}` {
		t.Errorf("DeleteProperty = %s, %v, %v", rest, left, err)
	}
	if _, left, _ := DeleteProperty([]byte(`{"a":"1"}`), "a"); left {
		t.Error("the last property deleted, yet some left")
	}
}

// data[].metadata in ESO's envelope decodes into the provider's spec; an unknown field is
// refused by name.
func TestParsePushMetadata(t *testing.T) {
	type spec struct {
		Tags map[string]string `json:"tags"`
	}
	got, err := ParsePushMetadata[spec](&apiextensionsv1.JSON{Raw: []byte(
		`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1","kind":"PushSecretMetadata","spec":{"tags":{"a":"b"}}}`)}, "tags")
	if err != nil || got.Tags["a"] != "b" {
		t.Errorf("got %+v, %v", got, err)
	}
	if _, err := ParsePushMetadata[spec](&apiextensionsv1.JSON{Raw: []byte(`{"spec":{"replicationLocations":["x"]}}`)},
		"tags"); err == nil || !strings.Contains(err.Error(), `unknown field "replicationLocations"`) {
		t.Errorf("unknown field: %v", err)
	}
	if got, err := ParsePushMetadata[spec](nil, "tags"); err != nil || got.Tags != nil {
		t.Errorf("nil metadata: %+v, %v", got, err)
	}
}

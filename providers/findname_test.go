package providers

import (
	"errors"
	"strings"
	"testing"
)

// find.name.regexp: empty matches every name, an expression matches anywhere in the name
// (as ESO's does), and one that does not compile is a configuration error that names the
// field and the expression.
func TestFindName(t *testing.T) {
	all, err := FindName("")
	if err != nil || !all("anything") || !all("") {
		t.Errorf("empty expression: err %v, or a name did not match", err)
	}
	db, err := FindName("^db-")
	if err != nil {
		t.Fatal(err)
	}
	if !db("db-password") || db("app-db-password") {
		t.Errorf("^db- matched wrongly")
	}
	_, err = FindName("db-(")
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), `find.name.regexp "db-("`) {
		t.Errorf("bad expression: %v, want a ConfigError naming find.name.regexp and the expression", err)
	}
}

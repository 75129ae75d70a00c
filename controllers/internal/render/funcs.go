package render

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/vigil-dev/vigil/internal/safetpl"
)

// templateFuncs are the functions ESO's engine v2 adds to sprig's: the PEM and PKCS#12
// helpers and YAML. safetpl removes sprig's env, expandenv and getHostByName and bounds the
// rest.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"filterPEM": filterPEM, "toYaml": toYaml, "fromYaml": fromYaml,
		"pkcs12key": pkcs12key, "pkcs12keyPass": pkcs12keyPass,
		"pkcs12cert": pkcs12cert, "pkcs12certPass": pkcs12certPass,
		"pemToPkcs12": pemToPkcs12, "pemToPkcs12Pass": pemToPkcs12Pass,
		"fullPemToPkcs12": fullPemToPkcs12, "fullPemToPkcs12Pass": fullPemToPkcs12Pass,
	}
}

// NewEngine returns the engine that runs templates (ExternalSecret's target.template,
// PushSecret's template): ESO's functions within safetpl's limits, with the given deadline
// per object (all its templates together; 0 keeps the default of 2 s).
func NewEngine(timeout time.Duration) *safetpl.Engine {
	l := safetpl.Defaults()
	if timeout > 0 {
		l.Timeout = timeout
	}
	return safetpl.New(l, templateFuncs())
}

// Default is the engine with the default deadline, for reconcilers built without one
// (tests); its function map is built once, on first use.
var Default = sync.OnceValue(func() *safetpl.Engine { return NewEngine(0) })

// toYaml renders a value as YAML, e.g. a config file from fetched keys.
func toYaml(v any) (string, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("toYaml: %w", err)
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}

// fromYaml parses a YAML document into a map (errors do not quote the input).
func fromYaml(s string) (map[string]any, error) {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		return nil, safetpl.Reason("the input is not a YAML mapping")
	}
	return m, nil
}

// pemTypes are the PEM block types filterPEM names in its errors.
var pemTypes = []string{
	pemCertificate, "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "PUBLIC KEY", "CERTIFICATE REQUEST",
	"ENCRYPTED PRIVATE KEY",
}

// pemCertificate is the PEM block type of an X.509 certificate.
const pemCertificate = "CERTIFICATE"

// filterPEM keeps the PEM blocks of one type, e.g. {{ .bundle | filterPEM "CERTIFICATE" }}.
func filterPEM(blockType, input string) (string, error) {
	var out bytes.Buffer
	rest := []byte(input)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == blockType {
			if err := pem.Encode(&out, block); err != nil {
				return "", err
			}
		}
	}
	if out.Len() == 0 {
		if !slices.Contains(pemTypes, blockType) {
			// The block type may come from the data: not quoted.
			return "", safetpl.Reason("no block of the requested type in the input")
		}
		return "", safetpl.Reason("no " + blockType + " block in the input")
	}
	return out.String(), nil
}

package esoschema

import (
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// fixture returns an ESO-like CRD and a Vigil-like one that differ in one way per check.
func fixture(t *testing.T) (eso, vigil *apiextensionsv1.CustomResourceDefinition) {
	t.Helper()
	const esoYAML = `
spec:
  group: example.io
  scope: Namespaced
  names: {kind: Thing, plural: things, shortNames: [th]}
  versions:
  - name: v1
    served: true
    additionalPrinterColumns: [{name: Ready, type: string, jsonPath: .status.ready}]
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [a]
            properties:
              a: {type: string}
              gone: {type: string}
              n: {type: integer}
              e: {type: string, enum: [x, y]}
              d: {type: string, default: x}
              p: {type: string}
              l: {type: array, items: {type: string}}
              c: {type: object}
              provider:
                type: object
                properties: {k: {type: string}}
`
	const vigilYAML = `
spec:
  group: example.io
  scope: Namespaced
  names: {kind: Thing, plural: things}
  versions:
  - name: v1
    served: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              a: {type: string}
              n: {type: string}
              e: {type: string, enum: [x]}
              d: {type: string, default: y}
              p: {type: string, pattern: '^x$'}
              l: {type: array, maxItems: 3, items: {type: string}}
              c: {type: object, x-kubernetes-validations: [{rule: 'true'}]}
              provider: {type: object, x-kubernetes-preserve-unknown-fields: true}
              more: {type: string}
`
	eso, vigil = &apiextensionsv1.CustomResourceDefinition{}, &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal([]byte(esoYAML), eso); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(vigilYAML), vigil); err != nil {
		t.Fatal(err)
	}
	return eso, vigil
}

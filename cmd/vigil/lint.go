package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
	"github.com/vigil-dev/vigil/controllers/manager"
	"github.com/vigil-dev/vigil/policy"
)

const lintUsage = `Usage: vigil lint [-o text|json|sarif] [--policy FILE]... [--aws-role-policy ROLE_ARN=FILE.json]... [--aws-role-boundary ROLE_ARN=FILE.json]... PATH...

Checks stores and ExternalSecrets in YAML files, folders or - (stdin) against the built-in
policies and those of the ClusterSecretPolicy files, offline. IAM policies of roles come from
--aws-role-policy (all of them: a role without any is unknown IAM), permissions boundaries
from --aws-role-boundary. Exits 1 when any finding is Deny, 0 otherwise, 2 on unreadable
input or a policy that does not compile.
`

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// document is one object read from a file, with where it starts.
type document struct {
	obj  *unstructured.Unstructured
	file string
	line int
}

// finding is one line of lint output.
type finding struct {
	Rule      string `json:"rule"`
	Action    string `json:"action"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	File      string `json:"file"`
	Line      int    `json:"line"`
	Message   string `json:"message"`
}

func runLint(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vigil lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, lintUsage); fs.PrintDefaults() }
	output := fs.String("o", "text", "output format: text, json or sarif")
	var policyFiles, rolePolicies, roleBoundaries multiFlag
	fs.Var(&policyFiles, "policy", "a file of ClusterSecretPolicy documents (repeatable)")
	fs.Var(&rolePolicies, "aws-role-policy", "ROLE_ARN=FILE.json: an IAM policy attached to a role (repeatable)")
	fs.Var(&roleBoundaries, "aws-role-boundary", "ROLE_ARN=FILE.json: the permissions boundary of a role")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, "vigil lint: no PATH given\n\n"+lintUsage)
		return 2
	}
	if !slices.Contains([]string{"text", "json", "sarif"}, *output) {
		fmt.Fprintf(stderr, "vigil lint: -o %q is not text, json or sarif\n", *output)
		return 2
	}
	ctx := context.Background()
	docs, err := readDocuments(fs.Args(), stdin)
	if err != nil {
		fmt.Fprintln(stderr, "vigil lint:", err)
		return 2
	}
	set, err := lintPolicies(ctx, policyFiles)
	if err != nil {
		fmt.Fprintln(stderr, "vigil lint:", err)
		return 2
	}
	iam, err := readRolePolicies(rolePolicies, roleBoundaries)
	if err != nil {
		fmt.Fprintln(stderr, "vigil lint:", err)
		return 2
	}
	findings, err := lintDocuments(ctx, docs, set, iam)
	if err != nil {
		fmt.Fprintln(stderr, "vigil lint:", err)
		return 2
	}
	if err := printFindings(stdout, *output, findings, set); err != nil {
		fmt.Fprintln(stderr, "vigil lint:", err)
		return 2
	}
	for _, f := range findings {
		if f.Action == string(policy.Deny) {
			return 1
		}
	}
	return 0
}

// readDocuments reads every YAML document of the paths (files, folders of .yaml/.yml/.json
// files, or - for stdin).
func readDocuments(paths []string, stdin io.Reader) ([]document, error) {
	var docs []document
	for _, p := range paths {
		if p == "-" {
			data, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("reading stdin: %w", err)
			}
			d, err := splitDocuments("-", data)
			if err != nil {
				return nil, err
			}
			docs = append(docs, d...)
			continue
		}
		err := filepath.WalkDir(p, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				return nil
			}
			if path != p && !slices.Contains([]string{".yaml", ".yml", ".json"}, filepath.Ext(path)) {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			d, err := splitDocuments(path, data)
			if err != nil {
				return err
			}
			docs = append(docs, d...)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
	}
	return docs, nil
}

// splitDocuments decodes a multi-document YAML file, remembering the line each document
// starts on.
func splitDocuments(file string, data []byte) ([]document, error) {
	var docs []document
	var buf bytes.Buffer
	start, lineNo := 0, 0
	flush := func() error {
		if strings.TrimSpace(buf.String()) == "" {
			buf.Reset()
			return nil
		}
		u := &unstructured.Unstructured{}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(buf.Bytes()), 4096)
		if err := dec.Decode(&u.Object); err != nil {
			return fmt.Errorf("%s:%d: not a valid YAML document: %w", file, start, err)
		}
		buf.Reset()
		if len(u.Object) > 0 {
			docs = append(docs, document{obj: u, file: file, line: start})
		}
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if strings.HasPrefix(line, "---") {
			if err := flush(); err != nil {
				return nil, err
			}
			start = 0
			continue
		}
		if start == 0 && strings.TrimSpace(line) != "" && !strings.HasPrefix(strings.TrimSpace(line), "#") {
			start = lineNo
		}
		buf.WriteString(line + "\n")
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return docs, flush()
}

func lintPolicies(ctx context.Context, files []string) (*policy.Set, error) {
	var policies []policyv1alpha1.ClusterSecretPolicy
	docs, err := readDocuments(files, nil)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		if d.obj.GetKind() != "ClusterSecretPolicy" {
			return nil, fmt.Errorf("%s:%d: %s is not a ClusterSecretPolicy", d.file, d.line, d.obj.GetKind())
		}
		var p policyv1alpha1.ClusterSecretPolicy
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(d.obj.Object, &p); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", d.file, d.line, err)
		}
		policies = append(policies, p)
	}
	return policy.NewSet(ctx, policies)
}

func readRolePolicies(specs, boundaries []string) (policy.StaticIAM, error) {
	iam := policy.StaticIAM{}
	for i, s := range append(append([]string{}, specs...), boundaries...) {
		flagName, boundary := "--aws-role-policy", i >= len(specs)
		if boundary {
			flagName = "--aws-role-boundary"
		}
		role, file, ok := strings.Cut(s, "=")
		if !ok || !strings.Contains(role, ":role/") {
			return nil, fmt.Errorf("%s %q: want ROLE_ARN=FILE.json, e.g. arn:aws:iam::123456789012:role/app=policy.json", flagName, s)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flagName, err)
		}
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("%s: %s is not a JSON policy document: %w", flagName, file, err)
		}
		if err := policy.CheckIAMDocument(doc); err != nil {
			return nil, fmt.Errorf("%s: %s is not a policy IAM accepts (MalformedPolicyDocument): %w", flagName, file, err)
		}
		name := filepath.Base(file)
		if boundary {
			name = "boundary/" + name
		}
		iam[role] = append(iam[role], policy.IAMPolicy{Name: name, Document: doc, Boundary: boundary})
	}
	return iam, nil
}

// lintDocuments evaluates every store and ExternalSecret. The other documents (namespaces,
// ServiceAccounts, stores) are what the policies look up, as the cluster would hold them.
func lintDocuments(ctx context.Context, docs []document, set *policy.Set, iam policy.StaticIAM) ([]finding, error) {
	scheme, err := manager.NewScheme()
	if err != nil {
		return nil, err
	}
	var objs []client.Object
	typed := make([]client.Object, len(docs))
	// The cluster holds one object per kind, namespace and name: a second document for the
	// same object is an error that names both places, not a crash of the in-memory client.
	first := map[string]document{}
	for i, d := range docs {
		u := d.obj.DeepCopy()
		if u.GetNamespace() == "" && namespaced(u.GetKind()) {
			u.SetNamespace("default")
		}
		if u.GroupVersionKind().Group == esv1.GroupVersion.Group {
			u.SetAPIVersion(esv1.GroupVersion.String()) // v1beta1 reads as v1: same schema
		}
		obj, err := scheme.New(u.GroupVersionKind())
		if err != nil {
			continue // a kind the policies do not look at
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
			return nil, fmt.Errorf("%s:%d: %s %s: %w", d.file, d.line, u.GetKind(), u.GetName(), err)
		}
		co := obj.(client.Object)
		id := u.GroupVersionKind().GroupKind().String() + " " + client.ObjectKeyFromObject(co).String()
		if f, ok := first[id]; ok {
			name := strings.TrimPrefix(client.ObjectKeyFromObject(co).String(), "/")
			return nil, fmt.Errorf("%s:%d: %s %s is defined again (first at %s:%d); each object may appear once", d.file, d.line, u.GetKind(), name, f.file, f.line)
		}
		first[id] = d
		typed[i] = co
		objs = append(objs, co)
	}
	// An in-memory client stands in for the cluster: lint runs offline.
	cluster := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
	b := &policy.Builder{Client: cluster, IAM: iam}
	var out []finding
	for i, obj := range typed {
		var in policy.Input
		switch o := obj.(type) {
		case *esv1.SecretStore:
			in, err = b.ForStore(ctx, o, policy.OpLint)
		case *esv1.ClusterSecretStore:
			in, err = b.ForStore(ctx, o, policy.OpLint)
		case *esv1.ExternalSecret:
			in, err = b.ForExternalSecret(ctx, o, policy.OpLint)
		default:
			u := docs[i].obj
			if obj == nil || !policy.IsGenerator(u.GroupVersionKind().Group, u.GetKind()) {
				continue
			}
			u = u.DeepCopy()
			u.SetNamespace(obj.GetNamespace()) // defaulted as the cluster would
			in, err = b.ForGenerator(ctx, u, policy.OpLint)
		}
		if err != nil {
			return nil, err
		}
		vs, err := set.Evaluate(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			out = append(out, finding{Rule: v.Rule, Action: string(v.Action), Kind: docs[i].obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName(), File: docs[i].file, Line: docs[i].line, Message: v.Message})
		}
	}
	return out, nil
}

func namespaced(kind string) bool {
	return !slices.Contains([]string{"Namespace", "ClusterSecretStore", "ClusterExternalSecret", "ClusterSecretPolicy"}, kind)
}

func printFindings(w io.Writer, format string, findings []finding, set *policy.Set) error {
	switch format {
	case "json":
		if findings == nil {
			findings = []finding{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"findings": findings})
	case "sarif":
		return printSARIF(w, findings, set)
	}
	deny := 0
	for _, f := range findings {
		obj := f.Name
		if f.Namespace != "" {
			obj = f.Namespace + "/" + f.Name
		}
		fmt.Fprintf(w, "%s:%d: %s %s %s %s: %s\n", f.File, f.Line, f.Action, f.Rule, f.Kind, obj, f.Message)
		if f.Action == string(policy.Deny) {
			deny++
		}
	}
	fmt.Fprintf(w, "%d findings, %d deny\n", len(findings), deny)
	return nil
}

// printSARIF writes SARIF 2.1.0, which code-scanning tools show inline on pull requests.
func printSARIF(w io.Writer, findings []finding, set *policy.Set) error {
	type rule struct {
		ID   string            `json:"id"`
		Name string            `json:"name,omitempty"`
		Desc map[string]string `json:"shortDescription"`
		Help map[string]string `json:"help,omitempty"`
	}
	var rules []rule
	for _, id := range slices.Sorted(maps.Keys(set.Rules())) {
		r := set.Rules()[id]
		rules = append(rules, rule{ID: id, Name: r.Title, Desc: map[string]string{"text": r.Title}, Help: map[string]string{"text": r.Remediation}})
	}
	level := map[string]string{"Deny": "error", "Warn": "warning", "Audit": "note"}
	results := []map[string]any{}
	for _, f := range findings {
		results = append(results, map[string]any{
			"ruleId":  f.Rule,
			"level":   level[f.Action],
			"message": map[string]string{"text": fmt.Sprintf("%s %s: %s", f.Kind, f.Name, f.Message)},
			"locations": []any{map[string]any{"physicalLocation": map[string]any{
				"artifactLocation": map[string]string{"uri": filepath.ToSlash(f.File)},
				"region":           map[string]int{"startLine": max(f.Line, 1)},
			}}},
		})
	}
	doc := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool":    map[string]any{"driver": map[string]any{"name": "vigil", "informationUri": "https://github.com/vigil-dev/vigil", "rules": rules}},
			"results": results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

package policy

import (
	"context"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
)

// pushPS is a PushSecret in namespace payments that pushes keys to the stores refs name.
func pushPS(refs []esv1alpha1.PushSecretStoreRef, keys ...string) *esv1alpha1.PushSecret {
	ps := &esv1alpha1.PushSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "push"}, Spec: esv1alpha1.PushSecretSpec{
		SecretStoreRefs: refs,
		Selector:        esv1alpha1.PushSecretSelector{Secret: &esv1alpha1.PushSecretSecret{Name: "source"}},
	}}
	for _, k := range keys {
		ps.Spec.Data = append(ps.Spec.Data, esv1alpha1.PushSecretData{Match: esv1alpha1.PushSecretMatch{
			SecretKey: "v", RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: k}}})
	}
	return ps
}

func named(kind, name string) []esv1alpha1.PushSecretStoreRef {
	return []esv1alpha1.PushSecretStoreRef{{Name: name, Kind: kind}}
}

// pushVerdicts evaluates the built-in rules on the input the Builder makes of ps and returns
// "rule path" for each pushsecret-* violation, and every message.
func pushVerdicts(t *testing.T, b *Builder, ps *esv1alpha1.PushSecret, pushed ...PushedKey) ([]string, string) {
	t.Helper()
	ctx := context.Background()
	set, err := NewSet(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := b.ForPushSecret(ctx, ps, OpLint, pushed...)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := set.Evaluate(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	var out, msgs []string
	for _, v := range vs {
		if strings.HasPrefix(v.Rule, "externalsecret-") {
			t.Errorf("a rule about reads judged a PushSecret: %s", v)
		}
		if strings.HasPrefix(v.Rule, "pushsecret-") {
			out = append(out, v.Rule+" "+v.Path)
			msgs = append(msgs, v.Message)
		}
	}
	slices.Sort(out)
	return out, strings.Join(msgs, "\n")
}

const (
	pushOutside       = "pushsecret-key-outside-prefix spec.data[0].match.remoteRef.remoteKey"
	pushNotNormalized = "pushsecret-key-not-normalized spec.data[0].match.remoteRef.remoteKey"
)

// Every remote key a PushSecret writes is judged as the store it is pushed to names it: the
// store's prefix applied, Vault's mount and path cleaning, Kubernetes Secret names.
func TestPushSecret_KeysAreJudgedAsTheBackendWritesThem(t *testing.T) {
	b := pathCluster(t, "prod/payments/")
	ss := esv1.SecretStoreKind
	for _, tc := range []struct {
		name  string
		ps    *esv1alpha1.PushSecret
		want  []string
		inMsg string
	}{
		{"sm inside", pushPS(named(ss, "sm"), "prod/payments/db"), nil, ""},
		{"sm outside", pushPS(named(ss, "sm"), "prod/billing/db"), []string{pushOutside},
			`spec.data[0].match.remoteRef.remoteKey writes "prod/billing/db", outside the prefixes allowed in namespace payments (prod/payments/) through SecretStore/sm`},
		{"boundary: prod/paymentsx is not under prod/payments/", pushPS(named(ss, "sm"), "prod/paymentsx/db"), []string{pushOutside}, ""},
		{"store prefix applies", pushPS(named(ss, "sm-payments"), "db"), nil, ""},
		{"store prefix outside", pushPS(named(ss, "sm-billing"), "prod/payments/db"), []string{pushOutside}, `"billing/prod/payments/db"`},
		{"cluster store prefix outside", pushPS(named(esv1.ClusterSecretStoreKind, "shared-sm"), "prod/payments/db"), []string{pushOutside}, "ClusterSecretStore/shared-sm"},
		{"vault kv2 inside", pushPS(named(ss, "kv2"), "prod/payments/db"), nil, ""},
		{"vault kv2 escape", pushPS(named(ss, "kv2"), "prod/payments/../../billing/db"), []string{pushNotNormalized, pushOutside}, `"secret/billing/db"`},
		{"vault leading slash", pushPS(named(ss, "kv2"), "/prod/payments/db"), []string{pushNotNormalized}, "which Vault strips"},
		{"ssm leading slash is the hierarchy", pushPS(named(ss, "ssm"), "/prod/payments/db"), nil, ""},
		{"kubernetes: no / in a Secret name", pushPS(named(ss, "kube"), "prod/payments/db"), []string{pushNotNormalized}, "not a Kubernetes Secret name"},
		{"missing store: judged as written, cleaned too", pushPS(named(ss, "missing"), "prod/payments/../../billing/db"),
			[]string{pushNotNormalized, pushOutside}, `"billing/db"`},
	} {
		got, msgs := pushVerdicts(t, b, tc.ps)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: flagged %q, want %q", tc.name, got, tc.want)
		}
		if !strings.Contains(msgs, tc.inMsg) {
			t.Errorf("%s: no message says %s: %s", tc.name, tc.inMsg, msgs)
		}
	}
}

// A key pushed to several stores is judged through each: one store whose prefix puts it
// outside is enough to deny. Stores named by labelSelector count as by name.
func TestPushSecret_EachStoreTheKeyGoesToIsJudged(t *testing.T) {
	b := pathCluster(t, "prod/payments/")
	c := b.Client.(client.Client)
	ctx := context.Background()
	for name, prefix := range map[string]string{"team-a": "", "team-b": "billing/"} {
		s := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: name, Labels: map[string]string{"push": "yes"}},
			Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
				Service: esv1.AWSServiceSecretsManager, Region: "us-east-1", Prefix: prefix}}}}
		if err := c.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	two := []esv1alpha1.PushSecretStoreRef{{Name: "sm", Kind: esv1.SecretStoreKind}, {Name: "sm-billing"}}
	got, msgs := pushVerdicts(t, b, pushPS(two, "prod/payments/db"))
	if !slices.Equal(got, []string{pushOutside}) || !strings.Contains(msgs, "SecretStore/sm-billing") {
		t.Errorf("pushed to sm and sm-billing: flagged %q (%s), want the sm-billing write only", got, msgs)
	}
	bySelector := []esv1alpha1.PushSecretStoreRef{{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"push": "yes"}}}}
	got, msgs = pushVerdicts(t, b, pushPS(bySelector, "prod/payments/db"))
	if !slices.Equal(got, []string{pushOutside}) || !strings.Contains(msgs, `"billing/prod/payments/db"`) || !strings.Contains(msgs, "SecretStore/team-b") {
		t.Errorf("pushed by labelSelector to team-a and team-b: flagged %q (%s), want the team-b write", got, msgs)
	}
	// A ref with both a name and a selector pushes to what the selector matches (the
	// controller's reading, and ESO's): it is judged through those stores, not the named one.
	both := []esv1alpha1.PushSecretStoreRef{{Name: "sm-payments", LabelSelector: bySelector[0].LabelSelector}}
	got, msgs = pushVerdicts(t, b, pushPS(both, "prod/payments/db"))
	if !slices.Equal(got, []string{pushOutside}) || !strings.Contains(msgs, "SecretStore/team-b") {
		t.Errorf("a ref naming sm-payments and selecting team-a and team-b: flagged %q (%s), want the team-b write", got, msgs)
	}
	none := []esv1alpha1.PushSecretStoreRef{{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"push": "nowhere"}}}}
	if got, _ := pushVerdicts(t, b, pushPS(none, "prod/billing/db")); !slices.Equal(got, []string{pushOutside}) {
		t.Errorf("a selector that matches no store: flagged %q, want the key judged as written", got)
	}
}

// dataTo with a remoteKey goes to its own storeRef; per-key dataTo names its keys only at
// sync time, when the controller passes them.
func TestPushSecret_DataToAndKeysTheControllerResolves(t *testing.T) {
	b := pathCluster(t, "prod/payments/")
	ps := pushPS(named(esv1.SecretStoreKind, "sm"))
	ps.Spec.DataTo = []esv1alpha1.PushSecretDataTo{
		{StoreRef: &esv1alpha1.PushSecretStoreRef{Name: "sm-billing"}, RemoteKey: "prod/payments/bundle"},
		{StoreRef: &esv1alpha1.PushSecretStoreRef{Name: "sm"}}, // per-key
	}
	got, _ := pushVerdicts(t, b, ps)
	if want := []string{"pushsecret-key-outside-prefix spec.dataTo[0].remoteKey"}; !slices.Equal(got, want) {
		t.Errorf("dataTo: flagged %q, want %q", got, want)
	}
	var sm esv1.SecretStore
	if err := b.Client.Get(context.Background(), client.ObjectKey{Namespace: "payments", Name: "sm"}, &sm); err != nil {
		t.Fatal(err)
	}
	pushed := []PushedKey{
		{Path: `spec.dataTo[1] (key "ok")`, Store: &sm, RemoteKey: "prod/payments/ok"},
		{Path: `spec.dataTo[1] (key "password")`, Store: &sm, RemoteKey: "password"},
	}
	got, msgs := pushVerdicts(t, b, ps, pushed...)
	want := []string{"pushsecret-key-outside-prefix spec.dataTo[0].remoteKey", `pushsecret-key-outside-prefix spec.dataTo[1] (key "password")`}
	if !slices.Equal(got, want) || !strings.Contains(msgs, `writes "password"`) {
		t.Errorf("with the controller's keys: flagged %q (%s), want %q", got, msgs, want)
	}
}

// The gate judges the stores the controller is about to push to, as it does an
// ExternalSecret's store: a store that policy blocks is written through by no PushSecret.
func TestGate_PushSecretIncludesItsStores(t *testing.T) {
	ctx := context.Background()
	b := pathCluster(t, "prod/payments/")
	h, err := NewHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var css esv1.ClusterSecretStore // shared-sm: no conditions, open to every namespace
	if err := b.Client.Get(ctx, client.ObjectKey{Name: "shared-sm"}, &css); err != nil {
		t.Fatal(err)
	}
	h.Set(h.Get()) // the built-in library alone, as if the policy controller had loaded no policy
	css.Kind = esv1.ClusterSecretStoreKind
	g := &Gate{Builder: b, Policies: h}
	ps := pushPS(named(esv1.ClusterSecretStoreKind, "shared-sm"), "db")
	vs, err := g.PushSecret(ctx, ps, []esv1.GenericStore{&css})
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{}
	for _, v := range vs {
		rules[v.Rule] = true
	}
	if !rules["clustersecretstore-unscoped"] || !rules["pushsecret-key-outside-prefix"] {
		t.Errorf("gate verdicts %v: want the store's clustersecretstore-unscoped and the push's own outside-prefix", vs)
	}
	for _, id := range []string{"pushsecret-key-outside-prefix", "pushsecret-key-not-normalized"} {
		if a := h.Get().Rules()[id].Action; a != Deny {
			t.Errorf("%s defaults to %q: writing outside one's prefix must be a Deny", id, a)
		}
	}
	own, err := g.PushSecret(ctx, pushPS(named(esv1.SecretStoreKind, "sm"), "prod/payments/db"), nil)
	if err != nil || len(own) != 0 {
		t.Errorf("a PushSecret inside its prefix, stores left to the audit: %v, %v", own, err)
	}
}

// The controller's gate judges the remote keys through the very store objects it pushes
// through, not through the stores read again: when the tenant's SecretStore "sm-payments"
// loses its prefix between the controller's read and the gate's, the key "db" written through
// the controller's copy is "db", outside the prefix, whatever the client reads now.
func TestGate_PushSecretJudgesKeysThroughTheStoresPushedTo(t *testing.T) {
	ctx := context.Background()
	b := pathCluster(t, "prod/payments/") // sm-payments: prefix prod/payments/
	h, err := NewHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.Set(h.Get())
	g := &Gate{Builder: b, Policies: h}
	ps := pushPS(named(esv1.SecretStoreKind, "sm-payments"), "db")
	if vs, err := g.PushSecret(ctx, ps, nil); err != nil || len(pushRules(vs)) != 0 {
		t.Fatalf("db through sm-payments as stored (prefix prod/payments/): %v, %v", vs, err)
	}
	var edited esv1.SecretStore
	if err := b.Client.Get(ctx, client.ObjectKey{Namespace: "payments", Name: "sm-payments"}, &edited); err != nil {
		t.Fatal(err)
	}
	edited.Spec.Provider.AWS.Prefix = ""
	vs, err := g.PushSecret(ctx, ps, []esv1.GenericStore{&edited})
	if err != nil {
		t.Fatal(err)
	}
	if d := pushRules(vs); len(d) != 1 || d[0].Rule != "pushsecret-key-outside-prefix" || !strings.Contains(d[0].Message, `writes "db"`) {
		t.Errorf("db through the store pushed to (no prefix): %v, want pushsecret-key-outside-prefix on \"db\"", vs)
	}
}

// Deletes are judged through the store as it is now, with the keys to delete as the only
// entries: a key pushed through sm-payments as prod/payments/db is, once the store's prefix
// is changed to billing/, billing/db, another team's, and its deletion is denied; the
// spec's own keys are not judged (they were at push time).
func TestGate_PushSecretDeletesJudgedThroughTheStoreAsItIs(t *testing.T) {
	ctx := context.Background()
	b := pathCluster(t, "prod/payments/")
	h, err := NewHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.Set(h.Get())
	g := &Gate{Builder: b, Policies: h}
	var store esv1.SecretStore
	if err := b.Client.Get(ctx, client.ObjectKey{Namespace: "payments", Name: "sm-payments"}, &store); err != nil {
		t.Fatal(err)
	}
	ps := pushPS(named(esv1.SecretStoreKind, "sm-payments"), "outside/of/everything")
	keys := []PushedKey{{Path: `status.syncedPushSecrets["SecretStore/sm-payments"]["db"]`, Store: &store, RemoteKey: "db"}}
	vs, err := g.PushSecretDeletes(ctx, ps, &store, keys)
	if err != nil || len(pushRules(vs)) != 0 {
		t.Fatalf("deleting db through sm-payments (prod/payments/db): %v, %v", vs, err)
	}
	store.Spec.Provider.AWS.Prefix = "billing/"
	vs, err = g.PushSecretDeletes(ctx, ps, &store, keys)
	if err != nil {
		t.Fatal(err)
	}
	if d := pushRules(vs); len(d) != 1 || d[0].Action != Deny || d[0].Path != keys[0].Path || !strings.Contains(d[0].Message, `"billing/db"`) {
		t.Errorf("deleting db through the edited store (billing/db): %v, want one pushsecret-key-outside-prefix on it", vs)
	}
}

// pushRules are the violations of the pushsecret-* rules (the fixture's stores break
// store rules too).
func pushRules(vs []Violation) []Violation {
	var out []Violation
	for _, v := range vs {
		if strings.HasPrefix(v.Rule, "pushsecret-") {
			out = append(out, v)
		}
	}
	return out
}

// A Secrets Manager ARN ending in "-" and six characters is the full ARN of the secret named
// without them: under the name prefix "payments-", the ARN ...:secret:payments-AbCdEf is the
// secret "payments", outside it, and is refused; ...:secret:payments-db-AbCdEf (the secret
// payments-db) is inside.
func TestPushSecret_ARNSuffixIsNotInsideANamePrefix(t *testing.T) {
	b := pathCluster(t, "payments-")
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
	got, msgs := pushVerdicts(t, b, pushPS(named(esv1.SecretStoreKind, "sm"), arn+"payments-AbCdEf", arn+"payments-db-AbCdEf"))
	want := []string{"pushsecret-key-outside-prefix spec.data[0].match.remoteRef.remoteKey"}
	if !slices.Equal(got, want) || !strings.Contains(msgs, `"payments"`) {
		t.Errorf("flagged %q (%s), want %q naming the secret \"payments\"", got, msgs, want)
	}
}
